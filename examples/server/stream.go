package main

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/payrail/payments/stream"
)

// streamTokenTTL is how long a checkout's stream token lasts: long enough
// to pay, short enough that a token copied from an access log is soon
// useless (it travels in the query string, as EventSource needs).
const streamTokenTTL = 30 * time.Minute

// streamPattern is where a payment's live status is served.
const streamPattern = "GET /payments/{id}/events"

// handlerOption configures newHandler.
type handlerOption func(*api)

// withStream turns on live payment status: checkouts answer a stream token
// and stream URL, and GET /payments/{id}/events serves the stream. A nil
// key leaves it off. onShutdown, when not nil, is the server's
// RegisterOnShutdown: open streams end when shutdown starts, since a
// graceful shutdown waits for every handler and a stream lasts as long as
// its token. Their clients reconnect to an instance that is up.
func withStream(key []byte, onShutdown func(func())) handlerOption {
	return func(a *api) { a.streamKey, a.onShutdown = key, onShutdown }
}

// mountStream mounts the stream on mux, outside requireToken: a browser's
// EventSource cannot send the API token, and the stream token, which
// names one payment, is the authorization.
func (a *api) mountStream(mux *http.ServeMux) {
	if a.streamKey == nil {
		return
	}
	h, err := stream.New(a.svc, stream.Options{Key: a.streamKey, Logger: a.log})
	if err != nil {
		panic(err) // streamKeyFromEnv checked the key
	}
	if a.onShutdown != nil {
		a.onShutdown(h.Close)
	}
	mux.Handle(streamPattern, h)
}

// withStreamToken adds to a checkout's answer what the paying client needs
// to follow the payment: "stream_token", and "stream_url" with the token
// in it, ready for new EventSource(url).
func (a *api) withStreamToken(out map[string]any) map[string]any {
	id, _ := out["id"].(string)
	if a.streamKey == nil || id == "" {
		return out
	}
	token := stream.Token(a.streamKey, id, streamTokenTTL, time.Now())
	out["stream_token"] = token
	out["stream_url"] = "/payments/" + id + "/events?token=" + token // base64url: nothing to escape
	return out
}

// streamKeyFromEnv reads STREAM_KEY, the key that signs stream tokens: at
// least 32 random bytes, hex or base64 (standard or URL alphabet, padded or
// not), the same on every instance. Empty turns streams off. Generate one
// with `openssl rand -hex 32`.
func streamKeyFromEnv(env env) ([]byte, error) {
	v := strings.TrimSpace(env("STREAM_KEY"))
	if v == "" {
		return nil, nil
	}
	key, err := hex.DecodeString(v)
	if err != nil {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if key, err = enc.DecodeString(v); err == nil {
				break
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("STREAM_KEY is neither hex nor base64")
	}
	if len(key) < stream.MinKeyBytes {
		return nil, fmt.Errorf("STREAM_KEY is %d bytes; it must be at least %d (openssl rand -hex 32)", len(key), stream.MinKeyBytes)
	}
	return key, nil
}
