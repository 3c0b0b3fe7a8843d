package sessiontest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// extraRoutes are the routes of the hardening subtests, served beside
// [Routes]:
//
//	/whoami          answer core.StoreKey(ID) and the value of "tag"
//	/big?size=       set "big" to a string of size bytes
//	/badval          set "n" to 99 and "bad" to a channel, which no codec encodes
func extraRoutes() []Route {
	return []Route{
		{"/whoami", func(c Ctx) {
			s := c.Session()
			tag, _ := core.GetAs[string](s, "tag")
			c.String(http.StatusOK, core.StoreKey(s.ID())+" "+tag)
		}},
		{"/big", func(c Ctx) {
			n := 0
			for _, ch := range c.Query("size") {
				n = n*10 + int(ch-'0')
			}
			c.Session().Set("big", strings.Repeat("b", n))
			c.String(http.StatusOK, "handler body")
		}},
		{"/badval", func(c Ctx) {
			s := c.Session()
			s.Set("n", 99)
			s.Set("bad", make(chan int))
			c.String(http.StatusOK, "handler body")
		}},
	}
}

// setupHard is setup with the hardening routes added.
func setupHard(t *testing.T, h Harness, newStore func(t *testing.T) core.Store, opts ...core.Option) *env {
	t.Helper()
	st := NewFaultStore(newStore(t))
	clk := NewClock()
	opts = append([]core.Option{core.WithClock(clk.Now), quietLogger()}, opts...)
	m := core.NewManager(st, opts...)
	return &env{t: t, store: st, clock: clk, m: m, url: h.Serve(t, m, append(Routes(), extraRoutes()...))}
}

// randomID returns a token with the shape of a session ID that was never
// issued.
func randomID() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// wantFresh checks that a read-only request carrying a bad token got a
// new, empty session: 200 "0", no Set-Cookie, no store write, and, when
// lookups is not negative, exactly that many store loads.
func (e *env) wantFresh(name string, edit func(*http.Request), lookups int64) {
	e.t.Helper()
	c := rawClient(e.t, e.url)
	w, l := e.store.Writes(), e.store.Loads()
	r := c.get("/read", edit)
	if r.status != http.StatusOK || r.body != "0" {
		e.t.Fatalf("%s: read got %d %q, want 200 \"0\" (a fresh session)", name, r.status, r.body)
	}
	if sc := r.header.Values("Set-Cookie"); len(sc) != 0 {
		e.t.Fatalf("%s: an unmodified fresh session got Set-Cookie %q", name, sc)
	}
	if got := e.store.Writes() - w; got != 0 {
		e.t.Fatalf("%s: %d store writes for a request that did not modify its session", name, got)
	}
	if got := e.store.Loads() - l; lookups >= 0 && got != lookups {
		e.t.Fatalf("%s: %d store loads, want %d", name, got, lookups)
	}
}

// raw returns the record the store holds for the session ID, or nil.
func (e *env) raw(id string) []byte {
	e.t.Helper()
	data, found, err := e.store.Inner().Load(context.Background(), core.StoreKey(id))
	if err != nil {
		e.t.Fatalf("store load: %v", err)
	}
	if !found {
		return nil
	}
	return append([]byte{}, data...)
}

// wantNewID checks that a modifying request carrying a bad token gets a
// new session under a new ID, none of sent, and leaves the records of
// sent as they were (none recreated, none extended).
func (e *env) wantNewID(name string, edit func(*http.Request), sent ...string) string {
	e.t.Helper()
	before := make([][]byte, len(sent))
	for i, s := range sent {
		before[i] = e.raw(s)
	}
	c := rawClient(e.t, e.url)
	r := c.get("/incr", edit)
	if r.status != http.StatusOK || r.body != "1" {
		e.t.Fatalf("%s: incr got %d %q, want 200 \"1\"", name, r.status, r.body)
	}
	cks := setCookies(e.t, r, cookieName)
	if len(cks) != 1 || len(cks[0].Value) != 43 {
		e.t.Fatalf("%s: want one fresh 43-character ID, got %v", name, cks)
	}
	for i, s := range sent {
		if cks[0].Value == s {
			e.t.Fatalf("%s: the client's token %q was adopted", name, s)
		}
		if !bytes.Equal(e.raw(s), before[i]) {
			e.t.Fatalf("%s: the record under the client's token changed (recreated or extended)", name)
		}
	}
	return cks[0].Value
}

func cookieLines(lines ...string) func(*http.Request) {
	return func(r *http.Request) { r.Header["Cookie"] = lines }
}

func runBadInput(t *testing.T, h Harness, newStore func(t *testing.T) core.Store) {
	t.Run("BadInput", func(t *testing.T) {
		t.Parallel()

		// Tokens without the shape of an ID never reach the store (BadCookies
		// covers more shapes).
		t.Run("Malformed", func(t *testing.T) {
			t.Parallel()
			e := setupHard(t, h, newStore)
			c := newClient(t, e.url)
			c.mustGet("/incr", "1")
			live := c.cookie(cookieName)
			id := randomID()
			cases := map[string][]string{
				"8KB":                {"session=" + strings.Repeat("A", 8192)},
				"44 characters":      {"session=" + id + "A"},
				"42 characters":      {"session=" + id[:42]},
				"padded base64":      {"session=" + id + "="},
				"standard base64":    {"session=" + strings.Repeat("+/", 21) + "A"},
				"store key":          {"session=" + core.StoreKey(live)},
				"many garbage":       {strings.Repeat("session=x; ", 200) + "session=y"},
				"two garbage lines":  {"session=x", "session=" + strings.Repeat("\xff", 43)},
				"no value":           {"session"},
				"other cookies only": {"sessionx=" + live + "; xsession=" + live},
			}
			for name, lines := range cases {
				e.wantFresh(name, cookieLines(lines...), 0)
				e.wantNewID(name, cookieLines(lines...), live)
			}
			c.mustGet("/read", "1") // the live session was never touched
		})

		// Tokens with the shape of an ID that no live record has: looked up
		// once, never adopted, never resurrected.
		t.Run("NotLive", func(t *testing.T) {
			t.Parallel()
			e := setupHard(t, h, newStore, core.WithIdleTimeout(10*time.Minute))
			never := randomID()
			e.wantFresh("never issued", withCookie("session="+never), 1)
			e.wantNewID("never issued", withCookie("session="+never), never)

			c := newClient(t, e.url)
			c.mustGet("/incr", "1")
			destroyed := c.cookie(cookieName)
			c.mustGet("/destroy", "ok")
			e.wantFresh("destroyed", withCookie("session="+destroyed), 1)
			e.wantNewID("destroyed", withCookie("session="+destroyed), destroyed)

			c = newClient(t, e.url)
			c.mustGet("/incr", "1")
			renewed := c.cookie(cookieName)
			c.mustGet("/renew", "ok")
			current := c.cookie(cookieName)
			e.wantFresh("renewed away", withCookie("session="+renewed), 1)
			e.wantNewID("renewed away", withCookie("session="+renewed), renewed, current)
			c.mustGet("/read", "1")

			c = newClient(t, e.url)
			c.mustGet("/incr", "1")
			expired := c.cookie(cookieName)
			e.clock.Advance(10*time.Minute + time.Second)
			// The store may still hold the record (its clock is the real one):
			// core's own check must refuse it, and not touch it either.
			e.wantFresh("expired", withCookie("session="+expired), 1)
			e.wantNewID("expired", withCookie("session="+expired), expired)
			c.mustGet("/read", "0")
		})

		// Header mode gets the same treatment.
		t.Run("HeaderTokens", func(t *testing.T) {
			t.Parallel()
			const hdr = "X-Session-Token"
			e := setupHard(t, h, newStore, core.WithHeaderToken(hdr), core.WithIdleTimeout(10*time.Minute))
			c := rawClient(t, e.url)
			c.header = hdr
			c.mustGet("/incr", "1")
			expired := c.token
			e.clock.Advance(11 * time.Minute)
			for name, tok := range map[string]string{
				"garbage":      "garbage",
				"4KB":          strings.Repeat("A", 4096),
				"never issued": randomID(),
				"expired":      expired,
				"cookie only":  "",
			} {
				edit := func(r *http.Request) {
					r.Header.Set(hdr, tok)
					r.Header.Set("Cookie", "session="+expired)
				}
				rc := rawClient(t, e.url)
				w := e.store.Writes()
				r := rc.get("/read", edit)
				if r.status != http.StatusOK || r.body != "0" {
					t.Fatalf("%s: read got %d %q, want a fresh session", name, r.status, r.body)
				}
				if _, sent := r.header[hdr]; sent || e.store.Writes() != w {
					t.Fatalf("%s: an unmodified fresh session sent a token or wrote (%d)", name, e.store.Writes()-w)
				}
				r = rc.get("/incr", edit)
				if nt := r.header.Get(hdr); r.body != "1" || len(nt) != 43 || nt == tok {
					t.Fatalf("%s: incr got %q with token %q, want a new session and token", name, r.body, nt)
				}
			}
		})

		// When several cookies carry the session's name, the first whose
		// value has the shape of an ID wins (Manager.Token), even if it is
		// unknown: the server never tries them in turn.
		t.Run("DuplicateCookieRule", func(t *testing.T) {
			t.Parallel()
			e := setupHard(t, h, newStore)
			a, b := newClient(t, e.url), newClient(t, e.url)
			a.mustGet("/incr", "1")
			b.mustGet("/incr", "1")
			b.mustGet("/incr", "2")
			ida, idb := a.cookie(cookieName), b.cookie(cookieName)
			unknown := randomID()
			for _, tc := range []struct {
				name  string
				lines []string
				want  string
			}{
				{"a then b", []string{"session=" + ida + "; session=" + idb}, "1"},
				{"b then a", []string{"session=" + idb + "; session=" + ida}, "2"},
				{"garbage then b", []string{"session=%zz; other=1; session=" + idb}, "2"},
				{"quoted b then a", []string{`session="` + idb + `"; session=` + ida}, "2"},
				{"unknown then a", []string{"session=" + unknown + "; session=" + ida}, "0"},
				{"a then unknown", []string{"session=" + ida + "; session=" + unknown}, "1"},
				{"garbage line, b line", []string{"session=x", "session=" + idb}, "2"},
				{"b line, a line", []string{"session=" + idb, "session=" + ida}, "2"},
			} {
				rc := rawClient(t, e.url)
				w := e.store.Writes()
				r := rc.get("/read", cookieLines(tc.lines...))
				if r.status != http.StatusOK || r.body != tc.want {
					t.Fatalf("%s: read %d %q, want %q", tc.name, r.status, r.body, tc.want)
				}
				if len(r.header.Values("Set-Cookie")) != 0 || e.store.Writes() != w {
					t.Fatalf("%s: a read sent a cookie or wrote", tc.name)
				}
			}
			a.mustGet("/read", "1")
			b.mustGet("/read", "2")
		})
	})
}

func quietLogger() core.Option { return core.WithLogger(slog.New(slog.DiscardHandler)) }
