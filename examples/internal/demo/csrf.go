package demo

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
)

// csrfKeyLen is the least number of bytes of a CSRF key.
const csrfKeyLen = 32

// CSRF protects the forms of visitors who have no session yet with signed
// double-submit tokens: the form carries a random token and a cookie
// carries the same token with its HMAC-SHA256 under a key only the server
// knows. A request passes when the cookie's MAC is right and the form's
// token equals the cookie's. The MAC binds the token to nothing but the
// key (there is no session to bind it to), so that a cookie planted by a
// sibling domain must still have come from this server; the __Host-
// prefix of [CSRF.CookieName] under -secure keeps sibling domains from
// planting it at all.
//
// Keeping the token in a cookie rather than in a session is what lets an
// anonymous page write nothing to the store.
//
// A CSRF is safe for concurrent use.
type CSRF struct {
	key    []byte
	secure bool
}

// NewCSRF returns a CSRF that signs with key, which must be at least 32
// bytes; a nil key means a random one for this process (tokens then do
// not survive a restart or work across instances). secure makes the
// cookie Secure and gives it the __Host- prefix.
func NewCSRF(key []byte, secure bool) (*CSRF, error) {
	if key == nil {
		key = make([]byte, csrfKeyLen)
		rand.Read(key) // never fails (crypto/rand)
	}
	if len(key) < csrfKeyLen {
		return nil, errShortKey
	}
	return &CSRF{key: key, secure: secure}, nil
}

// CookieName returns the name of the CSRF cookie: "csrf", or
// "__Host-csrf" when secure.
func (c *CSRF) CookieName() string {
	if c.secure {
		return "__Host-csrf"
	}
	return "csrf"
}

// Token returns the token the form should carry for a request whose CSRF
// cookie has the value cookie (empty when absent). It reuses a valid
// cookie's token; otherwise it makes a new token and returns the cookie
// to set with it.
func (c *CSRF) Token(cookie string) (token string, set *http.Cookie) {
	if t, ok := c.parse(cookie); ok {
		return t, nil
	}
	t := rand.Text() // 128 bits from crypto/rand
	return t, c.cookie(t + "." + c.mac(t))
}

// Valid reports whether got, the token a form posted, matches the signed
// token of the request's CSRF cookie; both comparisons take constant time.
func (c *CSRF) Valid(cookie, got string) bool {
	t, ok := c.parse(cookie)
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(t)) == 1
}

// Expire returns a cookie that deletes the CSRF cookie.
func (c *CSRF) Expire() *http.Cookie {
	ck := c.cookie("")
	ck.MaxAge = -1
	return ck
}

func (c *CSRF) cookie(value string) *http.Cookie {
	return &http.Cookie{
		Name:     c.CookieName(),
		Value:    value,
		Path:     "/",
		Secure:   c.secure,
		HttpOnly: true, // the page has the token in its form; script needs no cookie
		SameSite: http.SameSiteLaxMode,
	}
}

// parse returns the token of a cookie value whose MAC is right.
func (c *CSRF) parse(cookie string) (string, bool) {
	t, mac, ok := strings.Cut(cookie, ".")
	if !ok || t == "" {
		return "", false
	}
	return t, hmac.Equal([]byte(mac), []byte(c.mac(t)))
}

func (c *CSRF) mac(token string) string {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte("sessionkit demo csrf\x00"))
	h.Write([]byte(token))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}
