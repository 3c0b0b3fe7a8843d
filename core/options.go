package core

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/core/codec"
)

// Default timeouts of a [Manager].
const (
	DefaultIdleTimeout     = time.Hour
	DefaultLifetime        = 24 * time.Hour
	DefaultRememberTimeout = 30 * 24 * time.Hour
	DefaultCookieName      = "session"
)

// maxCookieLen is the size browsers are required to accept for one cookie
// (name, value and attributes).
const maxCookieLen = 4096

// Cookie configures the session cookie. Zero fields take the defaults:
// Name "session", Path "/", SameSite Lax, no Domain (host-only), not Secure,
// not persistent, not partitioned. HttpOnly is always set.
type Cookie struct {
	// Name is the cookie name. Default: "session".
	Name string
	// Domain, when set, shares the cookie with subdomains. Default: none
	// (host-only).
	Domain string
	// Path scopes the cookie. Default: "/".
	Path string
	// Secure sends the cookie over HTTPS only. Set it in production.
	Secure bool
	// Persist makes the cookie outlive the browser session (Expires and
	// Max-Age follow the session's deadline) even without remember-me.
	// Default: false, a browser-session cookie unless remember-me is on.
	Persist bool
	// Partitioned sets the CHIPS Partitioned attribute; it requires Secure.
	Partitioned bool
	// SameSite defaults to http.SameSiteLaxMode; SameSiteNoneMode requires
	// Secure.
	SameSite http.SameSite
}

// Option configures a [Manager]. Options are applied in order by
// [NewManager]; invalid values make NewManager panic with a clear message.
type Option func(*config)

type config struct {
	idle, lifetime, remember time.Duration
	touchInterval            time.Duration
	rolling                  bool
	cookie                   Cookie
	headerName               string
	codec                    Codec
	clock                    func() time.Time
	errorHandler             func(http.ResponseWriter, *http.Request, error)
	logger                   *slog.Logger
	maxSize                  int
	events                   func(context.Context, Event)
}

// WithIdleTimeout sets how long a session lives without a request. It
// slides with each save and, with rolling, with each request. Default: 1 h.
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) { c.idle = positive("WithIdleTimeout", d) }
}

// WithLifetime sets the absolute lifetime of a session, counted from its
// creation and never extended (Renew keeps it). Default: 24 h.
func WithLifetime(d time.Duration) Option {
	return func(c *config) { c.lifetime = positive("WithLifetime", d) }
}

// WithRememberTimeout sets the timeout of sessions with remember-me on
// ([Session.SetRemember]): it becomes their idle timeout and, when longer
// than the lifetime, their lifetime, and their cookie persists for it.
// Default: 30 days.
func WithRememberTimeout(d time.Duration) Option {
	return func(c *config) { c.remember = positive("WithRememberTimeout", d) }
}

// WithRolling turns rolling expiry on or off. With rolling, every request
// of a live session extends its idle deadline (by a touch of the deadline
// only, at most once per touch interval); without it only requests that
// modify the session do. Default: on.
func WithRolling(on bool) Option {
	return func(c *config) { c.rolling = on }
}

// WithTouchInterval sets the minimum time between two deadline extensions
// of an unmodified session, so hot sessions do not write on every request.
// Zero means the default: 1% of the session's timeout, at most one minute.
func WithTouchInterval(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			panic(fmt.Sprintf("core: WithTouchInterval(%v): must not be negative", d))
		}
		c.touchInterval = d
	}
}

// WithCookie configures the session cookie; see [Cookie] for the defaults.
// A name, domain or path containing ';', ',', CR, LF or a space, a name
// that is not a valid cookie token, SameSite=None or Partitioned without
// Secure make NewManager panic.
func WithCookie(ck Cookie) Option {
	return func(c *config) { c.cookie = ck }
}

// WithHeaderToken switches the manager from cookies to a request and
// response header, for API clients: the token is read from the named
// request header, and a new or rotated token is returned in the same
// response header (empty after Destroy). No cookie is read or written.
func WithHeaderToken(name string) Option {
	return func(c *config) {
		if name == "" || !isToken(name) {
			panic(fmt.Sprintf("core: WithHeaderToken(%q): not a valid header name", name))
		}
		c.headerName = http.CanonicalHeaderKey(name)
	}
}

// WithCodec sets the codec for session values. Default: [codec.New](),
// the binary codec of package codec.
func WithCodec(codec Codec) Option {
	return func(c *config) {
		if codec == nil {
			panic("core: WithCodec(nil)")
		}
		c.codec = codec
	}
}

// WithClock sets the clock the manager checks and sets every deadline by.
// Default: time.Now. Tests inject a clock to move time without sleeping.
// Stores judge expiry by their own clocks, which this one does not reach:
// a clock ahead of a store's makes the manager expire what the store still
// holds (harmless), one behind it lets the store drop records the manager
// thinks live. A test that moves this clock with a memory store moves the
// store's too (memstore.WithClock).
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			panic("core: WithClock(nil)")
		}
		c.clock = now
	}
}

// WithErrorHandler sets what [Manager.Handler] does when the store fails.
// It is called with an error wrapping the store's error before the response
// is written, and should write a response; the default logs the error and
// answers 500 Internal Server Error. When the error happens after the
// response headers were sent (a Renew, a Destroy or a save that can no
// longer take effect) the error wraps [ErrHeadersWritten] and the handler
// must only report it: anything it writes is appended to a response that
// has already started.
func WithErrorHandler(h func(w http.ResponseWriter, r *http.Request, err error)) Option {
	return func(c *config) {
		if h == nil {
			panic("core: WithErrorHandler(nil)")
		}
		c.errorHandler = h
	}
}

// WithLogger sets the logger. Log lines never contain a raw session ID,
// only a prefix of its hashed store key. Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			panic("core: WithLogger(nil)")
		}
		c.logger = l
	}
}

// WithMaxSize limits the encoded size of a session record; a commit over it
// fails with an error wrapping [ErrTooLarge]. A limit over 2 GiB - 1 counts
// as 2 GiB - 1. Default: 1 MiB.
func WithMaxSize(n int) Option {
	return func(c *config) {
		if n <= 0 {
			panic(fmt.Sprintf("core: WithMaxSize(%d): must be positive", n))
		}
		c.maxSize = min(n, math.MaxInt32)
	}
}

func positive(name string, d time.Duration) time.Duration {
	if d <= 0 {
		panic(fmt.Sprintf("core: %s(%v): must be positive", name, d))
	}
	return d
}

func defaultConfig() config {
	return config{
		idle:     DefaultIdleTimeout,
		lifetime: DefaultLifetime,
		remember: DefaultRememberTimeout,
		rolling:  true,
		clock:    time.Now,
		maxSize:  1 << 20,
	}
}

// finish fills in defaults and checks the combination; it panics on
// configuration mistakes.
func (c *config) finish() {
	ck := &c.cookie
	if ck.Name == "" {
		ck.Name = DefaultCookieName
	}
	if ck.Path == "" {
		ck.Path = "/"
	}
	if ck.SameSite == 0 || ck.SameSite == http.SameSiteDefaultMode {
		ck.SameSite = http.SameSiteLaxMode
	}
	if !isToken(ck.Name) {
		panic(fmt.Sprintf("core: cookie name %q: must be a non-empty token without ';', ',', '=', spaces or control characters", ck.Name))
	}
	if bad := badAttr(ck.Domain); bad != "" {
		panic(fmt.Sprintf("core: cookie domain %q: contains %s", ck.Domain, bad))
	}
	if bad := badAttr(ck.Path); bad != "" {
		panic(fmt.Sprintf("core: cookie path %q: contains %s", ck.Path, bad))
	}
	if ck.SameSite == http.SameSiteNoneMode && !ck.Secure {
		panic("core: cookie SameSite=None requires Secure (browsers reject it otherwise)")
	}
	if ck.Partitioned && !ck.Secure {
		panic("core: cookie Partitioned requires Secure (browsers reject it otherwise)")
	}
	now := time.Now()
	probe := c.cookieFor(newID(), now.Add(c.remember), now, true)
	if err := probe.Valid(); err != nil {
		panic(fmt.Sprintf("core: session cookie: %v", err))
	}
	if n := len(probe.String()); n > maxCookieLen {
		panic(fmt.Sprintf("core: the session cookie would be %d bytes, over the %d browsers accept", n, maxCookieLen))
	}
	if c.codec == nil {
		c.codec = codec.New()
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
}

// isToken reports whether s is a valid HTTP token (RFC 9110), which is
// what cookie and header names must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

func badAttr(s string) string {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ';':
			return "';'"
		case c == ',':
			return "','"
		case c == ' ':
			return "a space"
		case c == '\r' || c == '\n':
			return "CR or LF"
		case c < ' ' || c == 0x7f:
			return "a control character"
		}
	}
	return ""
}

// cookieFor builds the session cookie for id. A zero expiry with persist
// unset makes a browser-session cookie.
func (c *config) cookieFor(id string, expiry, now time.Time, persist bool) *http.Cookie {
	ck := &http.Cookie{
		Name:        c.cookie.Name,
		Value:       id,
		Path:        c.cookie.Path,
		Domain:      c.cookie.Domain,
		Secure:      c.cookie.Secure,
		HttpOnly:    true,
		SameSite:    c.cookie.SameSite,
		Partitioned: c.cookie.Partitioned,
	}
	if persist {
		ck.Expires = expiry.UTC().Truncate(time.Second)
		ck.MaxAge = max(int(expiry.Sub(now).Round(time.Second)/time.Second), 1)
	}
	return ck
}
