package main

import (
	"fmt"
	"log/slog"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/gatewayenv"
)

// namedGateway is the driver of gateway name: one the cli was given
// (tests), else the one the environment configures, built by
// internal/gatewayenv from the variables the host app reads, so that it
// checks signatures with the host's secrets. Only that gateway's variables
// are read: another gateway's (a key file only the host's machine has)
// cannot stop an operator. It is nil, with no error, when the environment
// does not enable the gateway or the command builds no driver for it
// (gatewayenv.EnabledVar is ""): each caller says what to do about it.
func (c *cli) namedGateway(name string) (payments.Gateway, error) {
	for _, g := range c.gateways {
		if g.Name() == name {
			return g, nil
		}
	}
	g, err := gatewayenv.Gateway(c.getenv, c.driverLog(), name)
	if err != nil {
		// The environment is the command's input as flags are: exit 2. The
		// message names variables, never their values.
		return nil, usagef("configuring gateway %q from the environment: %v", name, err)
	}
	return g, nil
}

// driver is the driver that verifies and parses notification id, which came
// from gateway name, again (namedGateway).
func (c *cli) driver(id, name string) (payments.Gateway, error) {
	g, err := c.namedGateway(name)
	if err != nil || g != nil {
		return g, err
	}
	enable := gatewayenv.EnabledVar(name)
	if enable == "" {
		return nil, fmt.Errorf("%[1]s came from gateway %[2]q, whose driver must verify and parse it again, and this command builds no driver for it: "+
			"do it in the host app that has the driver (examples/server: POST /notifications/%[1]s/attribute or /replay): %[3]w",
			id, name, payments.ErrNotSupported)
	}
	return nil, fmt.Errorf("%[1]s came from gateway %[2]q, whose driver must verify and parse it again, and %[3]s is not true here: "+
		"run the command with the host app's environment (%[3]s=true and the gateway's other variables, as the host has them): %[4]w",
		id, name, enable, payments.ErrNotSupported)
}

// driverLog is where the drivers the command builds log: its stderr,
// warnings only (Anypay's about MD5 signatures), so that stdout stays
// the command's output and --json stays one document.
func (c *cli) driverLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
