package sessiontest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// cookieConfig is one cookie configuration of the CookieConfigs subtest.
type cookieConfig struct {
	name string
	ck   core.Cookie
	want http.Cookie // the attributes every Set-Cookie must carry
}

func cookieConfigs() []cookieConfig {
	return []cookieConfig{
		{"defaults", core.Cookie{},
			http.Cookie{Name: "session", Path: "/", SameSite: http.SameSiteLaxMode}},
		{"host prefix, strict", core.Cookie{Name: "__Host-sid", Secure: true, SameSite: http.SameSiteStrictMode},
			http.Cookie{Name: "__Host-sid", Path: "/", Secure: true, SameSite: http.SameSiteStrictMode}},
		{"domain, path, none, partitioned", core.Cookie{Name: "sid", Domain: "example.test", Path: "/app", Secure: true, SameSite: http.SameSiteNoneMode, Partitioned: true},
			http.Cookie{Name: "sid", Domain: "example.test", Path: "/app", Secure: true, SameSite: http.SameSiteNoneMode, Partitioned: true}},
		{"persist", core.Cookie{Name: "p", Persist: true},
			http.Cookie{Name: "p", Path: "/", SameSite: http.SameSiteLaxMode}},
	}
}

// checkCookie checks that the one Set-Cookie of r named like want parses
// back to exactly the configured attributes, with a lifetime of maxAge
// from now (0: a browser-session cookie; negative: an expiring cookie).
func checkCookie(t *testing.T, what string, r response, want http.Cookie, now time.Time, maxAge time.Duration) *http.Cookie {
	t.Helper()
	lines := r.header.Values("Set-Cookie")
	if len(lines) != 1 {
		t.Fatalf("%s: %d Set-Cookie lines %q, want 1", what, len(lines), lines)
	}
	got, err := http.ParseSetCookie(lines[0])
	if err != nil {
		t.Fatalf("%s: Set-Cookie %q does not parse: %v", what, lines[0], err)
	}
	if got.Name != want.Name || got.Domain != want.Domain || got.Path != want.Path ||
		got.Secure != want.Secure || !got.HttpOnly || got.SameSite != want.SameSite ||
		got.Partitioned != want.Partitioned || len(got.Unparsed) != 0 {
		t.Fatalf("%s: Set-Cookie %q parses to %+v, want name %q domain %q path %q secure %v HttpOnly samesite %v partitioned %v and nothing else",
			what, lines[0], got, want.Name, want.Domain, want.Path, want.Secure, want.SameSite, want.Partitioned)
	}
	switch {
	case maxAge == 0:
		if got.MaxAge != 0 || !got.Expires.IsZero() {
			t.Fatalf("%s: %q is not a browser-session cookie", what, lines[0])
		}
		if len(got.Value) != 43 {
			t.Fatalf("%s: value %q is not a 43-character ID", what, got.Value)
		}
	case maxAge < 0:
		if got.MaxAge >= 0 && (got.Expires.IsZero() || got.Expires.After(time.Now())) {
			t.Fatalf("%s: %q does not expire the cookie", what, lines[0])
		}
	default:
		if d := time.Duration(got.MaxAge)*time.Second - maxAge; d.Abs() > 2*time.Second {
			t.Fatalf("%s: Max-Age %d, want %v", what, got.MaxAge, maxAge)
		}
		if d := got.Expires.Sub(now.Add(maxAge)); d.Abs() > 2*time.Second {
			t.Fatalf("%s: Expires %v, want about %v", what, got.Expires, now.Add(maxAge))
		}
		if len(got.Value) != 43 {
			t.Fatalf("%s: value %q is not a 43-character ID", what, got.Value)
		}
	}
	if !headerHasValue(r.header, "Vary", "Cookie") {
		t.Fatalf("%s: Vary %q lacks Cookie", what, r.header.Values("Vary"))
	}
	if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "private") && !strings.Contains(cc, "no-store") {
		t.Fatalf("%s: Cache-Control %q lets shared caches store a response that sets the cookie", what, cc)
	}
	return got
}

// isoClient is a browser of the Isolation subtest: its own jar and tag.
type isoClient struct {
	hc   *http.Client
	base string
	tag  string
	want string // the /whoami answer of its own session
}

// do sends GET path with ctx; it reports the status and body, or the
// transport's error.
func (c *isoClient) do(ctx context.Context, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, "", err
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, string(body), err
}

func runSecurity(t *testing.T, h Harness, newStore func(t *testing.T) core.Store) {
	t.Run("Security", func(t *testing.T) {
		t.Parallel()

		// The key a store keeps (the hex hash of the ID) is no credential:
		// sent back as the cookie, whole or cut to the length of an ID, it
		// loads nothing.
		t.Run("StoreKeyAsCookie", func(t *testing.T) {
			t.Parallel()
			e := setupHard(t, h, newStore)
			c := newClient(t, e.url)
			c.mustGet("/incr", "1")
			id := c.cookie(cookieName)
			key := core.StoreKey(id)
			e.wantFresh("store key", withCookie("session="+key), 0)
			e.wantFresh("store key cut to 43", withCookie("session="+key[:43]), 1)
			e.wantNewID("store key", withCookie("session="+key), id)
			c.mustGet("/read", "1")
		})

		t.Run("CookieConfigs", func(t *testing.T) {
			t.Parallel()
			const idle, remember = 10 * time.Minute, 72 * time.Hour
			for _, cc := range cookieConfigs() {
				e := setupHard(t, h, newStore, core.WithCookie(cc.ck),
					core.WithIdleTimeout(idle), core.WithRememberTimeout(remember))
				c := rawClient(t, e.url)
				lifetime := time.Duration(0)
				if cc.ck.Persist {
					lifetime = idle
				}
				got := checkCookie(t, cc.name+": new session", c.get("/incr"), cc.want, e.clock.Now(), lifetime)
				send := withCookie(cc.want.Name + "=" + got.Value)
				if r := c.get("/incr", send); r.body != "2" || (!cc.ck.Persist && len(r.header.Values("Set-Cookie")) != 0) {
					t.Fatalf("%s: second request %q, Set-Cookie %q", cc.name, r.body, r.header.Values("Set-Cookie"))
				}
				checkCookie(t, cc.name+": remember-me", c.get("/remember?on=1", send), cc.want, e.clock.Now(), remember)
				got = checkCookie(t, cc.name+": renew", c.get("/renew", send), cc.want, e.clock.Now(), remember)
				send = withCookie(cc.want.Name + "=" + got.Value)
				if r := c.get("/read", send); r.body != "2" {
					t.Fatalf("%s: after remember-me and renew: read %q, want 2", cc.name, r.body)
				}
				checkCookie(t, cc.name+": destroy", c.get("/destroy", send), cc.want, e.clock.Now(), -1)
			}
		})

		// Many browsers at once, with a slow store and some requests that
		// give up early: every response carries its own session's data.
		t.Run("Isolation", func(t *testing.T) {
			t.Parallel()
			e := setupHard(t, h, newStore)
			const clients, rounds = 12, 12
			cs := make([]*isoClient, clients)
			for i := range cs {
				jar, err := cookiejar.New(nil)
				if err != nil {
					t.Fatal(err)
				}
				c := &isoClient{hc: &http.Client{Jar: jar, Timeout: 10 * time.Second}, base: e.url, tag: randomID()[:12]}
				if st, body, err := c.do(context.Background(), "/set?key=tag&val="+c.tag); err != nil || st != http.StatusOK {
					t.Fatalf("client %d: set: %d %q %v", i, st, body, err)
				}
				u, _ := url.Parse(e.url)
				for _, ck := range jar.Cookies(u) {
					if ck.Name == cookieName {
						c.want = core.StoreKey(ck.Value) + " " + c.tag
					}
				}
				if c.want == "" {
					t.Fatalf("client %d got no session cookie", i)
				}
				cs[i] = c
			}
			e.store.SetDelay(3 * time.Millisecond)
			var wg sync.WaitGroup
			errs := make(chan string, clients*rounds)
			for i, c := range cs {
				wg.Go(func() {
					for j := range rounds {
						ctx, cancel := context.Background(), context.CancelFunc(func() {})
						short := j%3 == 2
						if short {
							ctx, cancel = context.WithTimeout(ctx, time.Duration(1+j%4)*time.Millisecond)
						}
						st, body, err := c.do(ctx, "/whoami")
						cancel()
						switch {
						case short && err != nil:
							// gave up: nothing to check
						case err != nil:
							errs <- fmt.Sprintf("client %d round %d: %v", i, j, err)
						case st == http.StatusOK && body != c.want:
							errs <- fmt.Sprintf("client %d round %d: got %q, want its own %q", i, j, body, c.want)
						case st != http.StatusOK && !short:
							errs <- fmt.Sprintf("client %d round %d: status %d %q", i, j, st, body)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for msg := range errs {
				t.Error(msg)
			}
			e.store.SetDelay(0)
			for i, c := range cs {
				if st, body, err := c.do(context.Background(), "/whoami"); err != nil || st != http.StatusOK || body != c.want {
					t.Errorf("client %d at the end: %d %q %v, want %q", i, st, body, err, c.want)
				}
			}
		})
	})
}
