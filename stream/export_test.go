package stream

// OpenStreams reports how many streams h is serving, so that tests can see
// every stream end and the shared subscription go with the last one.
func OpenStreams(h *Handler) int {
	h.hub.mu.Lock()
	defer h.hub.mu.Unlock()
	return h.hub.open
}

// Subscribed reports whether h holds a subscription to its Source's events.
func Subscribed(h *Handler) bool {
	h.hub.mu.Lock()
	defer h.hub.mu.Unlock()
	return h.hub.cancel != nil
}

// VerifyToken exposes verifyToken to the external tests.
var VerifyToken = verifyToken
