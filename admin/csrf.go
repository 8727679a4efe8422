package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
)

// The CSRF defence has two independent parts, so that a gap in one (an old
// browser without Sec-Fetch-Site, a subdomain that can set cookies) does not
// open the actions:
//
//   - origin: http.CrossOriginProtection refuses a POST that a browser marks
//     cross-site (Sec-Fetch-Site) or whose Origin names another host; a
//     Referer naming another host is refused too, for clients that send a
//     Referer but no Origin.
//   - token: a random per-session token lives in a SameSite=Strict, HttpOnly
//     cookie and in a hidden field of every form; a POST must carry both,
//     equal, compared in constant time. Another site can neither read the
//     cookie nor make the browser send it cross-site.

// tokenBytes is the token's entropy; its base64url form is tokenLength long.
const (
	tokenBytes  = 32
	tokenLength = 43
)

// csrfToken returns the session's token, issuing a cookie for a new one when
// the request carries none (or a malformed one).
func (h *handler) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookieName); err == nil && wellFormedToken(c.Value) {
		return c.Value
	}
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	token := base64.RawURLEncoding.EncodeToString(b)
	path := h.prefix
	if path == "" {
		path = "/"
	}
	http.SetCookie(w, &http.Cookie{
		Name:     csrfCookieName,
		Value:    token,
		Path:     path,
		HttpOnly: true,
		Secure:   r.TLS != nil || h.opts.SecureCookie,
		// Strict: the cookie never rides on a request another site starts,
		// not even a top-level navigation.
		SameSite: http.SameSiteStrictMode,
	})
	return token
}

func wellFormedToken(s string) bool {
	if len(s) != tokenLength {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

var (
	errCrossOrigin = errors.New("cross-origin request refused")
	errNoToken     = errors.New("missing or wrong form token; reload the page and try again")
)

// checkOrigin refuses a request another site started.
func (h *handler) checkOrigin(r *http.Request) error {
	if err := h.origin.Check(r); err != nil {
		return errCrossOrigin
	}
	// CrossOriginProtection trusts Sec-Fetch-Site when a browser sends it
	// and reads Origin only when it does not; a request that names a
	// foreign Origin or Referer is refused whatever else it says.
	// "null" is what a browser sends as Origin under our no-referrer
	// policy; Sec-Fetch-Site, checked above, decides for those.
	if o := r.Header.Get("Origin"); o != "" && o != "null" && !h.sameHost(r, o) {
		return errCrossOrigin
	}
	if o, ref := r.Header.Get("Origin"), r.Header.Get("Referer"); (o == "" || o == "null") && ref != "" && !h.sameHost(r, ref) {
		return errCrossOrigin
	}
	return nil
}

// sameHost reports whether raw (an origin or a URL) names the request's own
// host or a trusted origin.
func (h *handler) sameHost(r *http.Request, raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	if u.Host == r.Host {
		return true
	}
	origin := u.Scheme + "://" + u.Host
	for _, t := range h.opts.TrustedOrigins {
		if t == origin {
			return true
		}
	}
	return false
}

// checkToken compares the form's token with the cookie's in constant time.
func checkToken(r *http.Request) error {
	c, err := r.Cookie(csrfCookieName)
	if err != nil || !wellFormedToken(c.Value) {
		return errNoToken
	}
	field := r.PostFormValue(csrfFieldName)
	if subtle.ConstantTimeCompare([]byte(field), []byte(c.Value)) != 1 {
		return errNoToken
	}
	return nil
}

// action guards a POST route: same origin, a valid token, then the grant.
// Each refusal is 403 and changes nothing.
func (h *handler) action(name string, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.checkOrigin(r); err != nil {
			h.refuse(w, r, http.StatusForbidden, err.Error())
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			h.refuse(w, r, http.StatusBadRequest, "the form could not be read")
			return
		}
		if err := checkToken(r); err != nil {
			h.refuse(w, r, http.StatusForbidden, err.Error())
			return
		}
		if !h.can(r, name) {
			h.refuse(w, r, http.StatusForbidden, "this action ("+name+") is not granted to you")
			return
		}
		h.log.InfoContext(r.Context(), "admin: action", "action", name, "path", r.URL.Path)
		next(w, r)
	})
}
