package sessiontest

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/core"
)

// userRoutes are the kit's routes for user binding, over the manager m:
//
//	/login?user=     bind the session to user, Renew, answer the handle
//	/whoami          answer "user handle" ("" when bound to none)
//	/devices         answer the handles of the user's sessions, sorted, comma-separated
//	/logout-others   destroy the user's other sessions, answer how many
//	/revoke?handle=  destroy one session of the user, answer "ok" or "gone"
func userRoutes(m *core.Manager) []Route {
	return []Route{
		{"/login", func(c Ctx) {
			s := c.Session()
			s.SetUser(c.Query("user"))
			s.Renew()
			c.String(http.StatusOK, s.Handle())
		}},
		{"/whoami", func(c Ctx) {
			s := c.Session()
			c.String(http.StatusOK, s.User()+" "+s.Handle())
		}},
		{"/devices", func(c Ctx) {
			infos, err := m.UserSessions(c.Context(), c.Session().User())
			if err != nil {
				c.String(http.StatusInternalServerError, err.Error())
				return
			}
			var hs []string
			for _, in := range infos {
				hs = append(hs, in.Handle)
			}
			c.String(http.StatusOK, sortedCopy(hs))
		}},
		{"/logout-others", func(c Ctx) {
			s := c.Session()
			n, err := m.DestroyUserSessions(c.Context(), s.User(), s.Handle())
			if err != nil {
				c.String(http.StatusInternalServerError, err.Error())
				return
			}
			c.String(http.StatusOK, strconv.Itoa(n))
		}},
		{"/revoke", func(c Ctx) {
			err := m.DestroySession(c.Context(), c.Session().User(), c.Query("handle"))
			switch {
			case errors.Is(err, core.ErrSessionGone):
				c.String(http.StatusOK, "gone")
			case err != nil:
				c.String(http.StatusInternalServerError, err.Error())
			default:
				c.String(http.StatusOK, "ok")
			}
		}},
	}
}

// runUsers checks log out everywhere through the adapter: devices are
// real clients with cookie jars.
func runUsers(t *testing.T, h Harness, newStore func(t *testing.T) core.Store) {
	t.Run("LogOutEverywhere", func(t *testing.T) {
		t.Parallel()
		e := setup(t, h, newStore)
		login := func(user string) (*client, string) {
			c := newClient(t, e.url)
			c.mustGet("/incr", "1")
			r := c.get("/login?user=" + url.QueryEscape(user))
			if r.status != http.StatusOK || len(r.body) == 0 {
				t.Fatalf("login of %s: %d %q", user, r.status, r.body)
			}
			c.mustGet("/whoami", user+" "+r.body)
			return c, r.body
		}
		a, ha := login("alice")
		b, hb := login("alice")
		bob, hbob := login("bob")
		a.mustGet("/devices", sortedCopy([]string{ha, hb}))

		// A device renewed after binding is still the same device.
		a.mustGet("/renew", "ok")
		a.mustGet("/whoami", "alice "+ha)
		a.mustGet("/devices", sortedCopy([]string{ha, hb}))

		a.mustGet("/logout-others", "1")
		b.mustGet("/whoami", " ")
		b.mustGet("/incr", "1") // a fresh session: the old one's data is gone
		a.mustGet("/whoami", "alice "+ha)
		a.mustGet("/incr", "2")
		bob.mustGet("/whoami", "bob "+hbob)
		a.mustGet("/devices", ha)

		// Revoke: another user's device is not alice's to revoke.
		a.mustGet("/revoke?handle="+url.QueryEscape(hbob), "gone")
		bob.mustGet("/whoami", "bob "+hbob)
		b2, hb2 := login("alice")
		a.mustGet("/revoke?handle="+url.QueryEscape(hb2), "ok")
		b2.mustGet("/whoami", " ")
		a.mustGet("/revoke?handle="+url.QueryEscape(hb2), "gone")
		if hb == hb2 {
			t.Fatalf("two logins got the same handle %q", hb)
		}
	})
}

// sortedCopy joins the sorted strings of s with commas.
func sortedCopy(s []string) string {
	return strings.Join(slices.Sorted(slices.Values(s)), ",")
}
