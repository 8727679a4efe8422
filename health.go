package payments

import (
	"context"
	"errors"
	"sync"
	"time"
)

// HealthStatus summarizes whether the Service can take payments.
type HealthStatus string

// Health statuses.
const (
	HealthOK          HealthStatus = "OK"
	HealthPartial     HealthStatus = "Partially Available"
	HealthUnavailable HealthStatus = "Unavailable"
)

// Health is the Service's state: its Store and each gateway.
type Health struct {
	// Status is OK when the Store and every gateway answer, Partially
	// Available when the Store and some gateways do, Unavailable when the
	// Store or every gateway does not.
	Status   HealthStatus
	Store    ComponentHealth
	Gateways []ComponentHealth
}

// ComponentHealth is one check's result. Checked is false for a driver or
// store that has no health check; it counts as up.
type ComponentHealth struct {
	Name    string
	Up      bool
	Checked bool
	Error   string
	Latency time.Duration
}

// probeTimeout bounds each health probe when ctx has no sooner deadline, so
// one gateway that hangs cannot hang a status endpoint.
const probeTimeout = 10 * time.Second

// Health checks the Store (when it is a Pinger) and every gateway (when its
// driver is a HealthChecker) concurrently, each bounded by ctx and
// ten seconds. ComponentHealth.Error carries the driver's error text: show
// it to operators, not to the public.
func (s *Service) Health(ctx context.Context) Health {
	names := s.GatewayNames()
	h := Health{Gateways: make([]ComponentHealth, len(names))}
	var wg sync.WaitGroup
	for i, name := range names {
		h.Gateways[i] = ComponentHealth{Name: name, Up: true}
		if hc, ok := s.gateways[name].(HealthChecker); ok {
			wg.Go(func() { h.Gateways[i] = check(ctx, name, hc.CheckHealth) })
		}
	}
	h.Store = ComponentHealth{Name: "store", Up: true}
	if p, ok := s.store.(Pinger); ok {
		h.Store = check(ctx, "store", p.Ping)
	}
	wg.Wait()
	up := 0
	for _, g := range h.Gateways {
		if g.Up {
			up++
		}
	}
	switch {
	case !h.Store.Up || (len(names) > 0 && up == 0):
		h.Status = HealthUnavailable
	case up < len(names):
		h.Status = HealthPartial
	default:
		h.Status = HealthOK
	}
	return h
}

// check runs one probe. A probe that answers ErrNotSupported (a driver
// configured for webhooks only, without API credentials) counts as unchecked.
func check(ctx context.Context, name string, probe func(context.Context) error) ComponentHealth {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	start := time.Now()
	err := probe(ctx)
	if errors.Is(err, ErrNotSupported) {
		return ComponentHealth{Name: name, Up: true}
	}
	c := ComponentHealth{Name: name, Up: err == nil, Checked: true, Latency: time.Since(start)}
	if err != nil {
		c.Error = err.Error()
	}
	return c
}
