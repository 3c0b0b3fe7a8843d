package sessiontest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// errStoreDown is what a failing store returns in the fault tests.
var errStoreDown = errors.New("sessiontest: store is down")

// env is one app under test: a manager over a fault-injecting store, a
// manual clock, and the adapter's server.
type env struct {
	t     *testing.T
	store *FaultStore
	clock *Clock
	m     *core.Manager
	url   string
}

func setup(t *testing.T, h Harness, newStore func(t *testing.T) core.Store, opts ...core.Option) *env {
	t.Helper()
	st := NewFaultStore(newStore(t))
	clk := NewClock()
	opts = append([]core.Option{
		core.WithClock(clk.Now),
		core.WithLogger(slog.New(slog.DiscardHandler)),
	}, opts...)
	m := core.NewManager(st, opts...)
	return &env{t: t, store: st, clock: clk, m: m, url: h.Serve(t, m, append(Routes(), userRoutes(m)...))}
}

// live reports whether the store holds a live record for the session ID.
func (e *env) live(id string) bool {
	e.t.Helper()
	_, found, err := e.store.Inner().Load(context.Background(), core.StoreKey(id))
	if err != nil {
		e.t.Fatalf("store load: %v", err)
	}
	return found
}

const cookieName = "session"

// Run runs the behaviour matrix against the middleware h, with stores
// made by newStore (a fresh, empty, isolated store per call, closed by
// the caller's t.Cleanup).
func Run(t *testing.T, h Harness, newStore func(t *testing.T) core.Store) {
	t.Run("Counter", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore)
		c := newClient(t, e.url)
		r := c.mustGet("/incr", "1")
		cks := setCookies(t, r, cookieName)
		if len(cks) != 1 {
			t.Fatalf("first response: %d session Set-Cookie headers, want exactly 1", len(cks))
		}
		id := cks[0].Value
		if len(id) != 43 {
			t.Fatalf("session ID %q: %d characters, want 43", id, len(id))
		}
		for i := 2; i <= 4; i++ {
			r := c.mustGet("/incr", strconv.Itoa(i))
			if n := len(setCookies(t, r, cookieName)); n != 0 {
				t.Fatalf("request %d re-sent the unchanged browser-session cookie (%d Set-Cookie)", i, n)
			}
		}
		if got := c.cookie(cookieName); got != id {
			t.Fatalf("cookie changed from %q to %q", id, got)
		}
		if _, found, _ := e.store.Inner().Load(context.Background(), id); found {
			t.Fatal("the store holds a record under the raw session ID: keys must be hashed")
		}
		if !e.live(id) {
			t.Fatal("no record under the hashed ID")
		}
	})

	t.Run("CookieAttributes", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore, core.WithCookie(core.Cookie{
			Name: "sid", Path: "/", Domain: "127.0.0.1", SameSite: http.SameSiteStrictMode,
		}))
		c := rawClient(t, e.url)
		r := c.mustGet("/incr", "1")
		cks := setCookies(t, r, "sid")
		if len(cks) != 1 {
			t.Fatalf("%d Set-Cookie for sid, want 1: %q", len(cks), r.header.Values("Set-Cookie"))
		}
		ck := cks[0]
		if !ck.HttpOnly || ck.Secure || ck.Path != "/" || ck.Domain != "127.0.0.1" || ck.SameSite != http.SameSiteStrictMode {
			t.Fatalf("cookie attributes %+v, want HttpOnly, not Secure, Path /, Domain 127.0.0.1, SameSite Strict", ck)
		}
		if ck.MaxAge != 0 || !ck.Expires.IsZero() {
			t.Fatalf("browser-session cookie has Max-Age %d / Expires %v", ck.MaxAge, ck.Expires)
		}
		if !headerHasValue(r.header, "Vary", "Cookie") {
			t.Fatalf("Vary %q lacks Cookie", r.header.Values("Vary"))
		}
		if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "private") && !strings.Contains(cc, "no-store") {
			t.Fatalf("Cache-Control %q lets shared caches store a response that sets the cookie", cc)
		}
		r = c.get("/read", withCookie("sid="+ck.Value))
		if !headerHasValue(r.header, "Vary", "Cookie") {
			t.Fatalf("a request carrying the cookie got Vary %q", r.header.Values("Vary"))
		}
	})

	t.Run("BadCookies", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore)
		forged := strings.Repeat("A", 43)
		bad := map[string]string{
			"garbage":      "session=garbage",
			"empty":        "session=",
			"oversized":    "session=" + strings.Repeat("x", 4500),
			"non-base64":   "session=" + strings.Repeat("*", 43),
			"invalid-utf8": "session=\xff\xfe" + strings.Repeat("a", 41),
			"forged":       "session=" + forged,
			"quoted":       `session="` + forged + `"`,
		}
		for name, header := range bad {
			c := rawClient(t, e.url)
			before := e.store.Writes()
			r := c.get("/read", withCookie(header))
			if r.status != http.StatusOK || r.body != "0" {
				t.Fatalf("%s: read got %d %q, want 200 \"0\" (a fresh session)", name, r.status, r.body)
			}
			if n := len(setCookies(t, r, cookieName)); n != 0 {
				t.Fatalf("%s: an unmodified fresh session sent %d cookies", name, n)
			}
			if w := e.store.Writes() - before; w != 0 {
				t.Fatalf("%s: %d store writes for a request that did not modify its session", name, w)
			}
			r = c.get("/incr", withCookie(header))
			if r.status != http.StatusOK || r.body != "1" {
				t.Fatalf("%s: incr got %d %q, want 200 \"1\"", name, r.status, r.body)
			}
			cks := setCookies(t, r, cookieName)
			if len(cks) != 1 || cks[0].Value == forged || len(cks[0].Value) != 43 {
				t.Fatalf("%s: want one fresh 43-character ID, got %v", name, cks)
			}
		}
		if e.live(forged) {
			t.Fatal("the forged ID was adopted")
		}
	})

	t.Run("DuplicateCookies", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore)
		c := newClient(t, e.url)
		c.mustGet("/incr", "1")
		id := c.cookie(cookieName)
		rc := rawClient(t, e.url)
		// The first cookie with the shape of an ID wins, wherever it is.
		r := rc.get("/read", withCookie("session=garbage; session="+id))
		if r.body != "1" {
			t.Fatalf("garbage then valid: read %q, want 1", r.body)
		}
		r = rc.get("/read", withCookie("session="+id+"; session="+strings.Repeat("B", 43)))
		if r.body != "1" {
			t.Fatalf("valid then unknown: read %q, want 1", r.body)
		}
	})

	t.Run("PerKeyTTL", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore)
		c := newClient(t, e.url)
		c.mustGet("/set?key=otp&val=123456&ttl=60s", "ok")
		c.mustGet("/set?key=name&val=ada", "ok")
		e.clock.Advance(59 * time.Second)
		c.mustGet("/get?key=otp", "123456")
		e.clock.Advance(2 * time.Second)
		c.mustGet("/get?key=otp", "<absent>")
		c.mustGet("/keys", "name")
		c.mustGet("/get?key=name", "ada")
	})

	t.Run("IdleTimeout", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore, core.WithIdleTimeout(10*time.Minute))
		c := newClient(t, e.url)
		c.mustGet("/incr", "1")
		id := c.cookie(cookieName)
		e.clock.Advance(9 * time.Minute)
		c.mustGet("/incr", "2") // slides the idle deadline
		e.clock.Advance(9 * time.Minute)
		c.mustGet("/read", "2") // still alive 18 minutes in
		e.clock.Advance(10*time.Minute + time.Second)
		c.mustGet("/read", "0")
		c.mustGet("/incr", "1")
		if got := c.cookie(cookieName); got == id {
			t.Fatal("an expired session's ID was resurrected")
		}
	})

	t.Run("RollingTouch", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore, core.WithIdleTimeout(10*time.Minute), core.WithTouchInterval(time.Minute))
		c := newClient(t, e.url)
		c.mustGet("/incr", "1")
		w := e.store.Writes()
		c.mustGet("/read", "1")
		if got := e.store.Writes(); got != w {
			t.Fatalf("an unmodified request within the touch interval wrote %d times", got-w)
		}
		for i := 0; i < 5; i++ { // read-only requests keep it alive past the idle timeout
			e.clock.Advance(8 * time.Minute)
			c.mustGet("/read", "1")
		}
		if got := e.store.Writes() - w; got != 5 {
			t.Fatalf("5 reads after the touch interval made %d writes, want 5 touches", got)
		}
	})

	t.Run("NoRolling", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore, core.WithIdleTimeout(10*time.Minute), core.WithRolling(false))
		c := newClient(t, e.url)
		c.mustGet("/incr", "1")
		w := e.store.Writes()
		e.clock.Advance(8 * time.Minute)
		c.mustGet("/read", "1")
		if e.store.Writes() != w {
			t.Fatal("a read wrote to the store with rolling off")
		}
		e.clock.Advance(3 * time.Minute)
		c.mustGet("/read", "0")
	})

	t.Run("AbsoluteLifetime", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore, core.WithIdleTimeout(10*time.Minute), core.WithLifetime(30*time.Minute))
		c := newClient(t, e.url)
		c.mustGet("/incr", "1")
		for i := 2; i <= 4; i++ {
			e.clock.Advance(8 * time.Minute)
			c.mustGet("/incr", strconv.Itoa(i)) // 24 minutes in
		}
		c.mustGet("/renew", "ok") // Renew keeps the lifetime
		e.clock.Advance(5 * time.Minute)
		c.mustGet("/read", "4") // 29 minutes
		e.clock.Advance(90 * time.Second)
		c.mustGet("/read", "0") // 30.5 minutes: past the lifetime
	})

	t.Run("RememberMe", func(t *testing.T) {
		t.Parallel()
		remember := 72 * time.Hour
		e := setup(t, h, newStore, core.WithRememberTimeout(remember), core.WithIdleTimeout(10*time.Minute))
		c := newClient(t, e.url)
		r := c.mustGet("/incr", "1")
		if ck := setCookies(t, r, cookieName); len(ck) != 1 || ck[0].MaxAge != 0 || !ck[0].Expires.IsZero() {
			t.Fatalf("without remember-me want a browser-session cookie, got %v", ck)
		}
		r = c.mustGet("/remember?on=1", "ok")
		cks := setCookies(t, r, cookieName)
		if len(cks) != 1 {
			t.Fatalf("remember-me sent %d cookies, want 1", len(cks))
		}
		if got, want := cks[0].MaxAge, int(remember/time.Second); math.Abs(float64(got-want)) > 2 {
			t.Fatalf("remember-me Max-Age %d, want about %d", got, want)
		}
		if d := cks[0].Expires.Sub(e.clock.Now().Add(remember)); d.Abs() > 2*time.Second {
			t.Fatalf("remember-me Expires %v is %v off now + %v", cks[0].Expires, d, remember)
		}
		e.clock.Advance(48 * time.Hour) // far past the idle timeout, within remember
		c.mustGet("/read", "1")
		r = c.mustGet("/remember?on=0", "ok")
		if ck := setCookies(t, r, cookieName); len(ck) != 1 || ck[0].MaxAge != 0 || !ck[0].Expires.IsZero() {
			t.Fatalf("remember-me off: want a browser-session cookie again, got %v", ck)
		}
		e.clock.Advance(11 * time.Minute)
		c.mustGet("/read", "0")
	})

	t.Run("Renew", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore)
		c := newClient(t, e.url)
		c.mustGet("/incr", "1")
		old := c.cookie(cookieName)
		r := c.mustGet("/renew", "ok")
		cks := setCookies(t, r, cookieName)
		if len(cks) != 1 || cks[0].Value == old || len(cks[0].Value) != 43 {
			t.Fatalf("renew: want one new ID, got %v (old %q)", cks, old)
		}
		c.mustGet("/incr", "2") // data kept under the new ID
		if e.live(old) {
			t.Fatal("the old ID still has a record after Renew")
		}
		rc := rawClient(t, e.url)
		if r := rc.get("/read", withCookie("session="+old)); r.body != "0" {
			t.Fatalf("the old ID still loads the session: %q", r.body)
		}
	})

	t.Run("Destroy", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore)
		c := newClient(t, e.url)
		c.mustGet("/incr", "1")
		id := c.cookie(cookieName)
		r := c.mustGet("/destroy", "ok")
		cks := setCookies(t, r, cookieName)
		if len(cks) != 1 || cks[0].MaxAge >= 0 && !cks[0].Expires.Before(time.Now()) {
			t.Fatalf("destroy: want one expiring cookie, got %v", cks)
		}
		if e.live(id) {
			t.Fatal("the record survived Destroy")
		}
		if c.cookie(cookieName) != "" {
			t.Fatal("the browser still holds the cookie")
		}
		// The destroyed ID replayed: a fresh session, nothing written.
		rc := rawClient(t, e.url)
		w := e.store.Writes()
		if r := rc.get("/read", withCookie("session="+id)); r.body != "0" || len(setCookies(t, r, cookieName)) != 0 {
			t.Fatalf("replayed destroyed ID: body %q, cookies %v", r.body, r.header.Values("Set-Cookie"))
		}
		if e.store.Writes() != w {
			t.Fatal("a replayed destroyed ID caused a store write")
		}
		r = rc.get("/incr", withCookie("session="+id))
		if cks := setCookies(t, r, cookieName); r.body != "1" || len(cks) != 1 || cks[0].Value == id {
			t.Fatalf("replayed destroyed ID then modified: body %q, cookies %v", r.body, cks)
		}
	})

	t.Run("DestroyThenFlash", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore)
		c := newClient(t, e.url)
		c.mustGet("/incr", "1")
		id := c.cookie(cookieName)
		c.mustGet("/logout-flash", "ok")
		if e.live(id) {
			t.Fatal("the record survived Destroy")
		}
		if nid := c.cookie(cookieName); nid == "" || nid == id {
			t.Fatalf("values set after Destroy need a new session, cookie %q (old %q)", nid, id)
		}
		c.mustGet("/flash/show", "bye")
		c.mustGet("/read", "0")
	})

	t.Run("Flash", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore)
		c := newClient(t, e.url)
		c.mustGet("/flash/add?msg=hello", "ok")
		c.mustGet("/flash/add?msg=world", "ok")
		c.mustGet("/flash/show", "hello,world")
		c.mustGet("/flash/show", "")
		c.mustGet("/keys", "")
	})

	t.Run("HeaderToken", func(t *testing.T) {
		t.Parallel()
		const hdr = "X-Session-Token"
		e := setup(t, h, newStore, core.WithHeaderToken(hdr))
		c := rawClient(t, e.url)
		c.header = hdr
		r := c.mustGet("/incr", "1")
		if len(r.header.Values("Set-Cookie")) != 0 {
			t.Fatal("header mode sent a cookie")
		}
		tok := c.token
		if len(tok) != 43 {
			t.Fatalf("header token %q, want a 43-character ID", tok)
		}
		if !headerHasValue(r.header, "Vary", hdr) {
			t.Fatalf("Vary %q lacks %s", r.header.Values("Vary"), hdr)
		}
		r = c.mustGet("/incr", "2")
		if _, sent := r.header[hdr]; sent {
			t.Fatal("an unchanged token was sent again")
		}
		c.mustGet("/renew", "ok")
		if c.token == tok || len(c.token) != 43 {
			t.Fatalf("renew: token %q, want a new one", c.token)
		}
		c.mustGet("/incr", "3")
		r = c.mustGet("/destroy", "ok")
		if v, sent := r.header[hdr]; !sent || v[0] != "" {
			t.Fatalf("destroy: token header %q, want present and empty", v)
		}
		c.mustGet("/read", "0")
		// Cookies are ignored in header mode.
		c.token = ""
		c.mustGet("/read", "0")
	})

	t.Run("ConcurrentKeys", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore)
		c := newClient(t, e.url)
		c.mustGet("/incr", "1")
		var wg sync.WaitGroup
		errs := make(chan string, 20)
		for i := range 20 {
			wg.Go(func() {
				r := c.get(fmt.Sprintf("/set?key=k%02d&val=%d", i, i))
				if r.status != http.StatusOK {
					errs <- fmt.Sprintf("k%02d: status %d", i, r.status)
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Fatal(e)
		}
		var want []string
		for i := range 20 {
			want = append(want, fmt.Sprintf("k%02d", i))
		}
		want = append(want, "n")
		c.mustGet("/keys", strings.Join(want, ","))
	})

	t.Run("LogoutNotUndone", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore)
		c := newClient(t, e.url)
		c.mustGet("/incr", "1")
		id := c.cookie(cookieName)
		slow := make(chan response, 1)
		go func() {
			rc := rawClient(t, e.url)
			slow <- rc.get("/slowset?key=x&val=1&delay=300ms", withCookie("session="+id))
		}()
		time.Sleep(100 * time.Millisecond) // the slow request has loaded
		c.mustGet("/destroy", "ok")
		r := <-slow
		if r.status != http.StatusOK {
			t.Fatalf("slow request: status %d %q", r.status, r.body)
		}
		if len(setCookies(t, r, cookieName)) != 0 {
			t.Fatalf("the slow request of a destroyed session sent a cookie: %q", r.header.Values("Set-Cookie"))
		}
		if e.live(id) {
			t.Fatal("a slower request resurrected the destroyed session")
		}
	})

	t.Run("UnmodifiedWritesNothing", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore)
		c := newClient(t, e.url)
		w := e.store.Writes()
		r := c.mustGet("/noop", "ok")
		if len(r.header.Values("Set-Cookie")) != 0 || e.store.Writes() != w {
			t.Fatal("a request without a session got a cookie or a store write")
		}
		if e.store.Loads() != 0 {
			t.Fatal("a request without a cookie loaded from the store")
		}
		c.mustGet("/incr", "1")
		w = e.store.Writes()
		for range 3 {
			r := c.mustGet("/read", "1")
			if len(r.header.Values("Set-Cookie")) != 0 {
				t.Fatal("an unmodified request got a cookie")
			}
		}
		if e.store.Writes() != w {
			t.Fatalf("unmodified requests wrote %d times", e.store.Writes()-w)
		}
	})

	t.Run("StoreFailsOnLoad", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore)
		c := newClient(t, e.url)
		c.mustGet("/incr", "1")
		id := c.cookie(cookieName)
		e.store.FailLoads(errStoreDown)
		r := c.get("/incr")
		if r.status != http.StatusInternalServerError {
			t.Fatalf("store down on load: status %d %q, want 500", r.status, r.body)
		}
		if len(setCookies(t, r, cookieName)) != 0 {
			t.Fatal("store down on load: a cookie was sent (a fresh session would log the user out)")
		}
		e.store.FailLoads(nil)
		c.mustGet("/incr", "2")
		if c.cookie(cookieName) != id {
			t.Fatal("the session ID changed across the store failure")
		}
	})

	t.Run("StoreFailsOnSave", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore)
		c := newClient(t, e.url)
		c.mustGet("/incr", "1")
		id := c.cookie(cookieName)
		e.store.FailWrites(errStoreDown)
		r := c.get("/incr")
		if r.status != http.StatusInternalServerError || strings.Contains(r.body, "2") {
			t.Fatalf("store down on save: status %d %q, want 500 without the handler's body", r.status, r.body)
		}
		if len(setCookies(t, r, cookieName)) != 0 {
			t.Fatal("store down on save: a cookie was sent")
		}
		fresh := newClient(t, e.url)
		r = fresh.get("/incr")
		if r.status != http.StatusInternalServerError || len(setCookies(t, r, cookieName)) != 0 {
			t.Fatalf("store down, new session: status %d, cookies %q; want 500 and no cookie", r.status, r.header.Values("Set-Cookie"))
		}
		e.store.FailWrites(nil)
		c.mustGet("/incr", "2")
		if c.cookie(cookieName) != id {
			t.Fatal("the session ID changed across the store failure")
		}
		fresh.mustGet("/incr", "1")
	})

	t.Run("BodyFirst", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore)
		c := newClient(t, e.url)
		// The handler sets, then writes its body the framework's way: the
		// cookie must still go out, exactly once.
		r := c.mustGet("/incr", "1")
		if n := len(setCookies(t, r, cookieName)); n != 1 {
			t.Fatalf("%d Set-Cookie headers, want 1", n)
		}
		// A change made after the body started is saved after the handler.
		c.mustGet("/bodyfirst", "body")
		c.mustGet("/get?key=late", "yes")
		// On a new session a change after the body can only be saved where
		// the framework buffers the response (its cookie needs a header).
		fresh := newClient(t, e.url)
		r = fresh.mustGet("/bodyfirst", "body")
		if h.Buffered {
			if len(setCookies(t, r, cookieName)) != 1 {
				t.Fatal("buffered framework: the late change did not get its cookie")
			}
			fresh.mustGet("/get?key=late", "yes")
		} else if len(setCookies(t, r, cookieName)) != 0 {
			t.Fatal("a cookie was sent after the body")
		}
	})

	t.Run("FromContext", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore)
		c := newClient(t, e.url)
		c.mustGet("/fromctx", "true")
	})

	runBadInput(t, h, newStore)
	runUsers(t, h, newStore)
	runSecurity(t, h, newStore)
	runLimits(t, h, newStore)
}

func headerHasValue(h http.Header, name, want string) bool {
	for _, v := range h.Values(name) {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), want) {
				return true
			}
		}
	}
	return false
}
