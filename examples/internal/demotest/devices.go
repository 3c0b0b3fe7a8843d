package demotest

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

// devices runs the checks of "Your devices" on a memory store and on the
// demo's default, SQLite.
func (h harness) devices(t *testing.T) {
	for _, st := range []struct {
		name  string
		store func(t *testing.T) core.Store
	}{
		{"Memory", func(t *testing.T) core.Store {
			ms := memstore.New()
			t.Cleanup(func() { ms.Close() })
			return ms
		}},
		{"SQLite", sqlite},
	} {
		t.Run(st.name, func(t *testing.T) {
			start := func(t *testing.T) *app { return h.start(t, demo.Config{Store: st.store(t)}) }
			t.Run("TwoDevicesListed", func(t *testing.T) { devicesListed(t, start(t)) })
			t.Run("LogOutOthers", func(t *testing.T) { logOutOthers(t, start(t)) })
			t.Run("Revoke", func(t *testing.T) { revokeDevice(t, start(t)) })
			t.Run("RevokeThisDevice", func(t *testing.T) { revokeThisDevice(t, start(t)) })
			t.Run("OtherUsersHandle", func(t *testing.T) { otherUsersHandle(t, start(t)) })
			t.Run("CSRFRefused", func(t *testing.T) { devicesCSRFRefused(t, start(t)) })
		})
	}
	t.Run("Anonymous", func(t *testing.T) { devicesAnonymous(t, h.start(t, demo.Config{})) })
	t.Run("Escaped", func(t *testing.T) { devicesEscaped(t, h.start(t, demo.Config{})) })
	t.Run("StoreFailure", h.devicesStoreFailure)
}

// row is one device of the devices page.
type row struct {
	handle   string
	this     bool
	created  time.Time
	expires  time.Time
	remember bool
}

var (
	rowStart  = regexp.MustCompile(`<tr class="device( this-device)?">`)
	rowHandle = regexp.MustCompile(`name="handle" value="([^"]*)"`)
	rowCell   = regexp.MustCompile(`<td class="(created|expires|remembered)">([^<]*)</td>`)
	rowCount  = regexp.MustCompile(`id="device-count">([0-9]+)<`)
)

// devicesOf opens c's devices page and returns its rows, checking that the
// count it states matches them and that exactly one is this device.
func (a *app) devicesOf(t *testing.T, c *http.Client) (response, []row) {
	t.Helper()
	page := a.get(t, c, "/devices")
	if page.StatusCode != http.StatusOK {
		t.Fatalf("GET /devices: status %d, want 200:\n%s", page.StatusCode, page.body)
	}
	var rows []row
	starts := rowStart.FindAllStringSubmatchIndex(page.body, -1)
	for i, m := range starts {
		end := len(page.body)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		chunk := page.body[m[0]:end]
		r := row{this: m[2] >= 0}
		hm := rowHandle.FindStringSubmatch(chunk)
		if hm == nil {
			t.Fatalf("device row %d has no revoke form with a handle:\n%s", i+1, chunk)
		}
		r.handle = html.UnescapeString(hm[1])
		for _, cm := range rowCell.FindAllStringSubmatch(chunk, -1) {
			switch cm[1] {
			case "created", "expires":
				tm, err := time.Parse("2006-01-02 15:04:05 UTC", cm[2])
				if err != nil {
					t.Fatalf("device row %d: %s %q: %v", i+1, cm[1], cm[2], err)
				}
				if cm[1] == "created" {
					r.created = tm
				} else {
					r.expires = tm
				}
			case "remembered":
				r.remember = cm[2] == "yes"
			}
		}
		if r.created.IsZero() || r.expires.IsZero() {
			t.Fatalf("device row %d lacks its times:\n%s", i+1, chunk)
		}
		rows = append(rows, r)
	}
	if m := rowCount.FindStringSubmatch(page.body); m == nil || m[1] != strconv.Itoa(len(rows)) {
		t.Errorf("the devices page states %v devices and lists %d", m, len(rows))
	}
	if len(rows) > 0 {
		this := 0
		for _, r := range rows {
			if r.this {
				this++
			}
		}
		if this != 1 {
			t.Errorf("%d of the %d devices are marked as this device, want 1", this, len(rows))
		}
	}
	return page, rows
}

// thisHandle returns the handle of the row marked as this device.
func thisHandle(t *testing.T, rows []row) string {
	t.Helper()
	for _, r := range rows {
		if r.this {
			return r.handle
		}
	}
	t.Fatal("no device is marked as this device")
	return ""
}

// flashOf returns the flash messages of a page.
func flashOf(page response) []string {
	var out []string
	for _, m := range flashText.FindAllStringSubmatch(page.body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

var flashText = regexp.MustCompile(`<p class="flash">([^<]*)</p>`)

// sessionID returns the session ID in c's cookie jar, "" for none.
func (a *app) sessionID(t *testing.T, c *http.Client) string {
	t.Helper()
	u, err := url.Parse(a.url)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == core.DefaultCookieName {
			return ck.Value
		}
	}
	return ""
}

// devicesListed: two clients logged in as alice see two devices, each
// marked as this device on its own page, with their times and remember-me;
// bob, logged in too, sees only his.
func devicesListed(t *testing.T, a *app) {
	before := time.Now().Add(-time.Second)
	phone, laptop, bob := browser(t), browser(t), browser(t)
	a.login(t, phone, "alice")
	a.loginWith(t, laptop, "alice", true)
	a.login(t, bob, "bob")
	after := time.Now().Add(time.Second)

	_, fromPhone := a.devicesOf(t, phone)
	page, fromLaptop := a.devicesOf(t, laptop)
	if len(fromPhone) != 2 || len(fromLaptop) != 2 {
		t.Fatalf("alice's devices page lists %d devices on the phone and %d on the laptop, want 2 each:\n%s", len(fromPhone), len(fromLaptop), page.body)
	}
	phoneHandle, laptopHandle := thisHandle(t, fromPhone), thisHandle(t, fromLaptop)
	if phoneHandle == laptopHandle || phoneHandle == "" {
		t.Fatalf("the phone and the laptop are both %q", phoneHandle)
	}
	for _, r := range fromPhone {
		if r.handle != phoneHandle && r.handle != laptopHandle {
			t.Errorf("the phone lists a device %q that is neither", r.handle)
		}
		if r.created.Before(before.Truncate(time.Second)) || r.created.After(after) {
			t.Errorf("device created at %v, want between %v and %v", r.created, before, after)
		}
		if !r.expires.After(r.created) {
			t.Errorf("device expires at %v, not after its creation %v", r.expires, r.created)
		}
		if want := r.handle == laptopHandle; r.remember != want {
			t.Errorf("device remembered %v, want %v (only the laptop ticked remember me)", r.remember, want)
		}
	}
	for _, id := range []string{a.sessionID(t, phone), a.sessionID(t, laptop)} {
		if id == "" || strings.Contains(page.body, id) {
			t.Errorf("the devices page shows a session ID (or there is none: %q)", id)
		}
	}
	if _, rows := a.devicesOf(t, bob); len(rows) != 1 || rows[0].handle == phoneHandle || rows[0].handle == laptopHandle {
		t.Errorf("bob's devices page lists %+v, want his one device", rows)
	}
}

// logOutOthers: "log out other devices" logs the other client out, keeps
// this one and bob, and says how many it logged out; the event is logged
// without session IDs or handles.
func logOutOthers(t *testing.T, a *app) {
	phone, laptop, tablet, bob := browser(t), browser(t), browser(t), browser(t)
	a.login(t, phone, "alice")
	a.login(t, laptop, "alice")
	a.login(t, tablet, "alice")
	a.login(t, bob, "bob")
	ids := []string{a.sessionID(t, phone), a.sessionID(t, laptop), a.sessionID(t, tablet), a.sessionID(t, bob)}
	page, rows := a.devicesOf(t, laptop)
	if len(rows) != 3 {
		t.Fatalf("alice's devices page lists %d devices, want 3", len(rows))
	}
	laptopHandle := thisHandle(t, rows)

	res := a.post(t, laptop, "/devices/logout-others", url.Values{"csrf": {token(t, page)}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/devices" {
		t.Fatalf("log out other devices: %d to %q, want 303 to /devices:\n%s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
	page, rows = a.devicesOf(t, laptop)
	if got := flashOf(page); len(got) != 1 || got[0] != "Logged out 2 other devices." {
		t.Errorf("flash after log out other devices = %q, want the count", got)
	}
	if len(rows) != 1 || rows[0].handle != laptopHandle || !rows[0].this {
		t.Errorf("after log out other devices the laptop lists %+v, want itself only", rows)
	}
	if a.loggedIn(t, phone) || a.loggedIn(t, tablet) {
		t.Error("log out other devices left the phone or the tablet logged in")
	}
	if !a.loggedIn(t, laptop) {
		t.Error("log out other devices logged out the device that asked")
	}
	if !a.loggedIn(t, bob) {
		t.Error("alice's log out other devices logged bob out")
	}

	// Again: nothing left to log out, and it says so.
	res = a.post(t, laptop, "/devices/logout-others", url.Values{"csrf": {token(t, page)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("log out other devices again: status %d, want 303", res.StatusCode)
	}
	if got := flashOf(a.get(t, laptop, "/devices")); len(got) != 1 || got[0] != "No other device was logged in." {
		t.Errorf("flash after a second log out other devices = %q", got)
	}

	logged := a.log.String()
	if n := strings.Count(logged, "event=destroyed cause=user user=alice"); n != 2 {
		t.Errorf("the log has %d user-wide destroy events of alice, want 2:\n%s", n, logged)
	}
	for _, id := range ids {
		if strings.Contains(logged, id) {
			t.Errorf("a session ID reached the log:\n%s", logged)
		}
	}
	for _, r := range rows {
		if strings.Contains(logged, r.handle) {
			t.Errorf("a handle reached the log:\n%s", logged)
		}
	}
}

// revokeDevice: revoking another device of the user logs that one out
// only; revoking it again says it is gone.
func revokeDevice(t *testing.T, a *app) {
	phone, laptop, tablet := browser(t), browser(t), browser(t)
	a.login(t, phone, "alice")
	a.login(t, laptop, "alice")
	a.login(t, tablet, "alice")
	_, fromPhone := a.devicesOf(t, phone)
	phoneHandle := thisHandle(t, fromPhone)
	page, fromLaptop := a.devicesOf(t, laptop)
	laptopHandle := thisHandle(t, fromLaptop)

	res := a.post(t, laptop, "/devices/revoke", url.Values{"csrf": {token(t, page)}, "handle": {phoneHandle}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/devices" {
		t.Fatalf("revoke: %d to %q, want 303 to /devices:\n%s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
	page, rows := a.devicesOf(t, laptop)
	if got := flashOf(page); len(got) != 1 || got[0] != "The device is logged out." {
		t.Errorf("flash after revoke = %q", got)
	}
	if len(rows) != 2 {
		t.Errorf("after revoking the phone alice has %d devices, want 2", len(rows))
	}
	for _, r := range rows {
		if r.handle == phoneHandle {
			t.Error("the revoked phone is still listed")
		}
	}
	if a.loggedIn(t, phone) {
		t.Error("the revoked phone is still logged in")
	}
	if !a.loggedIn(t, laptop) || !a.loggedIn(t, tablet) {
		t.Error("revoking the phone logged out the laptop or the tablet")
	}
	// The phone's handle is gone for good.
	res = a.post(t, laptop, "/devices/revoke", url.Values{"csrf": {token(t, page)}, "handle": {phoneHandle}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoking the phone again: status %d, want 303:\n%s", res.StatusCode, res.body)
	}
	page, rows = a.devicesOf(t, laptop)
	if got := flashOf(page); len(got) != 1 || !strings.Contains(got[0], "not one of your sessions") {
		t.Errorf("flash after revoking a revoked device = %q", got)
	}
	if len(rows) != 2 || thisHandle(t, rows) != laptopHandle {
		t.Errorf("after revoking a revoked device alice has %+v", rows)
	}
	if !strings.Contains(a.log.String(), "event=destroyed cause=revoke user=alice") {
		t.Errorf("the revoke is not logged:\n%s", a.log)
	}
}

// revokeThisDevice: revoking this device is a logout.
func revokeThisDevice(t *testing.T, a *app) {
	phone, laptop := browser(t), browser(t)
	a.login(t, phone, "alice")
	a.login(t, laptop, "alice")
	page, rows := a.devicesOf(t, laptop)
	res := a.post(t, laptop, "/devices/revoke", url.Values{"csrf": {token(t, page)}, "handle": {thisHandle(t, rows)}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("revoking this device: %d to %q, want 303 to /login:\n%s", res.StatusCode, res.Header.Get("Location"), res.body)
	}
	if got := flashOf(a.get(t, laptop, "/login")); len(got) != 1 || got[0] != "You have been logged out." {
		t.Errorf("flash after revoking this device = %q", got)
	}
	if a.loggedIn(t, laptop) {
		t.Error("revoking this device left it logged in")
	}
	if !a.loggedIn(t, phone) {
		t.Error("revoking the laptop logged out the phone")
	}
	if _, rows := a.devicesOf(t, phone); len(rows) != 1 {
		t.Errorf("after the laptop revoked itself alice has %d devices, want 1", len(rows))
	}
}

// otherUsersHandle: a handle of bob's, or one made up, posted by alice
// destroys nothing and gives a clear message, not a 500.
func otherUsersHandle(t *testing.T, a *app) {
	alice, bob := browser(t), browser(t)
	a.login(t, alice, "alice")
	a.login(t, bob, "bob")
	_, bobRows := a.devicesOf(t, bob)
	bobHandle := thisHandle(t, bobRows)
	page, _ := a.devicesOf(t, alice)
	for _, handle := range []string{bobHandle, "made-up", "", `"><script>alert(1)</script>`} {
		res := a.post(t, alice, "/devices/revoke", url.Values{"csrf": {token(t, page)}, "handle": {handle}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/devices" {
			t.Fatalf("alice revoking %q: %d to %q, want 303 to /devices:\n%s", handle, res.StatusCode, res.Header.Get("Location"), res.body)
		}
		next, rows := a.devicesOf(t, alice)
		if got := flashOf(next); len(got) != 1 || !strings.Contains(got[0], "not one of your sessions") {
			t.Errorf("flash after alice revoked %q = %q, want a clear message", handle, got)
		}
		if strings.Contains(next.body, "<script>") {
			t.Errorf("the posted handle %q is rendered unescaped", handle)
		}
		if len(rows) != 1 {
			t.Errorf("alice has %d devices after revoking %q, want 1", len(rows), handle)
		}
		if !a.loggedIn(t, bob) || !a.loggedIn(t, alice) {
			t.Fatalf("alice revoking %q logged out bob or alice", handle)
		}
	}
	if _, rows := a.devicesOf(t, bob); len(rows) != 1 || rows[0].handle != bobHandle {
		t.Errorf("bob's devices after alice's attempts: %+v", rows)
	}
}

// devicesCSRFRefused: the device forms need the session's token.
func devicesCSRFRefused(t *testing.T, a *app) {
	phone, laptop := browser(t), browser(t)
	a.login(t, phone, "alice")
	a.login(t, laptop, "alice")
	_, fromPhone := a.devicesOf(t, phone)
	phoneHandle := thisHandle(t, fromPhone)
	// The phone's token is valid, but not the laptop's.
	phoneToken := token(t, a.get(t, phone, "/devices"))
	for _, tok := range []string{"", "forged", phoneToken} {
		for _, post := range []struct {
			path string
			form url.Values
		}{
			{"/devices/logout-others", url.Values{"csrf": {tok}}},
			{"/devices/revoke", url.Values{"csrf": {tok}, "handle": {phoneHandle}}},
		} {
			if res := a.post(t, laptop, post.path, post.form); res.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with token %q: status %d, want 403", post.path, tok, res.StatusCode)
			}
		}
	}
	// In the URL only, as a link would carry it.
	good := token(t, a.get(t, laptop, "/devices"))
	if res := a.post(t, laptop, "/devices/logout-others?csrf="+url.QueryEscape(good), nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("POST /devices/logout-others with the token in the URL: status %d, want 403", res.StatusCode)
	}
	if !a.loggedIn(t, phone) || !a.loggedIn(t, laptop) {
		t.Error("a refused device form logged a device out")
	}
}

// devicesAnonymous: without a login the devices page and its forms lead
// to the login form and write nothing.
func devicesAnonymous(t *testing.T, a *app) {
	c := browser(t)
	if res := a.get(t, c, "/devices"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Errorf("anonymous GET /devices: %d to %q, want 303 to /login", res.StatusCode, res.Header.Get("Location"))
	}
	tok := token(t, a.get(t, c, "/login")) // a valid anonymous token
	for _, p := range []string{"/devices/logout-others", "/devices/revoke"} {
		res := a.post(t, c, p, url.Values{"csrf": {tok}, "handle": {"x"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
			t.Errorf("anonymous POST %s: %d to %q, want 303 to /login", p, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if n := a.count(t); n != 0 {
		t.Errorf("anonymous visits to the devices pages left %d sessions, want 0", n)
	}
}

// devicesEscaped: what the devices page shows of the user is escaped.
func devicesEscaped(t *testing.T, a *app) {
	c := browser(t)
	user := `<img src=x onerror=alert(1)>`
	form := a.get(t, c, "/login")
	res := a.post(t, c, "/login", url.Values{"username": {user}, "password": {"password"}, "csrf": {token(t, form)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: status %d", res.StatusCode)
	}
	page, rows := a.devicesOf(t, c)
	if strings.Contains(page.body, user) || !strings.Contains(page.body, html.EscapeString(user)) {
		t.Errorf("the devices page does not escape the user name:\n%s", page.body)
	}
	if len(rows) != 1 {
		t.Errorf("%d devices, want 1", len(rows))
	}
}

// devicesStoreFailure: a store that can neither index nor scan makes the
// devices page answer 500 and log why, without the session ID.
func (h harness) devicesStoreFailure(t *testing.T) {
	ms := memstore.New()
	t.Cleanup(func() { ms.Close() })
	a := h.start(t, demo.Config{Store: &faultStore{Store: ms}}) // hides the store's capabilities
	c := browser(t)
	a.login(t, c, "alice")
	res := a.get(t, c, "/devices")
	if res.StatusCode != http.StatusInternalServerError {
		t.Errorf("GET /devices on a store that cannot list: status %d, want 500", res.StatusCode)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the 500 has Cache-Control %q, want no-store", cc)
	}
	logged := a.log.String()
	if !strings.Contains(logged, "list the sessions of a user failed") || !strings.Contains(logged, core.ErrNotSupported.Error()) {
		t.Errorf("the failure is not logged:\n%s", logged)
	}
	if id := a.sessionID(t, c); id == "" || strings.Contains(logged, id) {
		t.Errorf("the session ID reached the log (or there is none):\n%s", logged)
	}
}
