package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// cookieName is the session cookie's name: the apps keep core's default.
const cookieName = "session"

// actionTimeout bounds each group of browser actions.
const actionTimeout = 20 * time.Second

// Run builds the example app in the current directory (the test's package
// directory), starts it as a separate process on a free port with a fresh
// SQLite database, and drives it with one headless Chromium through the
// flows every example app must get right, one subtest each. The subtests
// share the browser's tab and run in order; the one of "Your devices"
// opens two more browser contexts, two devices with cookie jars of their
// own.
//
// The browser is SESSIONKIT_CHROMIUM_BIN (set by scripts/test.sh) or
// chromium on PATH; without one Run fails the test. Screenshots of the
// pages go to a temporary directory, or under $SESSIONKIT_SCREENSHOT_DIR
// when it is set.
func Run(t *testing.T) {
	// Chromium starts while the app builds.
	start := time.Now()
	ctx, started := startBrowser(t)
	bin := build(t)
	t.Logf("built the app in %v", time.Since(start).Round(time.Millisecond))
	if err := <-started; err != nil {
		t.Fatalf("starting the browser: %v", err)
	}
	t.Logf("the browser is up after %v", time.Since(start).Round(time.Millisecond))
	srv := newServer(t, bin)
	b := &browser{ctx: ctx, srv: srv, shots: screenshotDir(t)}

	t.Run("LoginWithoutRememberMe", b.loginWithoutRememberMe)
	t.Run("LoginWithRememberMe", b.loginWithRememberMe)
	t.Run("CSRF", b.csrf)
	t.Run("OneTimeCodeExpires", b.oneTimeCodeExpires)
	t.Run("Logout", b.logout)
	t.Run("LogOutOtherDevices", b.logOutOtherDevices)
	t.Run("CounterSurvivesRestart", b.counterSurvivesRestart)
}

// screenshotDir returns where the screenshots go: a temporary directory,
// or $SESSIONKIT_SCREENSHOT_DIR/<app> to keep them for a look.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SESSIONKIT_SCREENSHOT_DIR")
	if dir == "" {
		return t.TempDir()
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(dir, filepath.Base(wd))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startBrowser starts headless Chromium with a fresh profile in the
// background. It returns the context of the browser's first tab, which the
// subtests reuse, and a channel that yields the start's result.
func startBrowser(t *testing.T) (context.Context, <-chan error) {
	t.Helper()
	bin := os.Getenv("SESSIONKIT_CHROMIUM_BIN")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("chromium"); err != nil {
			t.Fatal("no browser: set SESSIONKIT_CHROMIUM_BIN to a Chromium binary (scripts/test.sh does) or put chromium on PATH")
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	started := make(chan error, 1)
	go func() {
		// The first action starts the browser; it must not run under a
		// timeout, which would end the browser with it.
		if err := chromedp.Do(ctx); err != nil {
			started <- fmt.Errorf("%s: %w", bin, err)
		}
		close(started)
	}()
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		<-started
	})
	return ctx, started
}

// browser drives the app in one tab.
type browser struct {
	ctx   context.Context
	srv   *server
	shots string // screenshot directory
}

// do runs the actions, failing the test (with the app's output) on error.
func (b *browser) do(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v\napp output:\n%s", err, b.srv.out)
	}
}

// run runs one action that returns a value.
func run[T any](t *testing.T, b *browser, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v\napp output:\n%s", err, b.srv.out)
	}
	return v
}

// submit runs actions that load a new page (a click on a submit button)
// and returns the final response's status and URL.
func (b *browser) submit(t *testing.T, actions ...chromedp.Action[chromedp.Void]) (int64, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		t.Fatalf("browser: %v\napp output:\n%s", err, b.srv.out)
	}
	return resp.Status, resp.URL
}

// open navigates to path and returns the response's status and final URL.
func (b *browser) open(t *testing.T, path string) (int64, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.srv.url(path)))
	if err != nil {
		t.Fatalf("browser: open %s: %v\napp output:\n%s", path, err, b.srv.out)
	}
	return resp.Status, resp.URL
}

// fresh forgets every cookie, so that a subtest starts as a new visitor.
func (b *browser) fresh(t *testing.T) {
	t.Helper()
	b.do(t, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Call(ctx, network.ClearBrowserCookies, struct{}{})
		return chromedp.Void{}, err
	})
}

// login fills in the login form and submits it; it checks that the app
// answers with the home page.
func (b *browser) login(t *testing.T, user string, remember bool) {
	t.Helper()
	b.open(t, "/login")
	b.do(t,
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), "password"),
	)
	if remember {
		b.do(t, chromedp.Click(chromedp.CSS("#remember")))
	}
	status, u := b.submit(t, chromedp.Click(chromedp.CSS("#login-button")))
	if status != http.StatusOK || path(u) != "/" {
		t.Fatalf("login as %q: got %d %s, want 200 /", user, status, u)
	}
	if got := b.text(t, "#user"); got != user {
		t.Fatalf("home page greets %q, want %q", got, user)
	}
}

// sessionCookie returns the browser's session cookie for the app, or nil.
func (b *browser) sessionCookie(t *testing.T) *network.Cookie {
	t.Helper()
	res := run(t, b, func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.srv.url("/")}})
	})
	for _, c := range res.Cookies {
		if c.Name == cookieName {
			return c
		}
	}
	return nil
}

// flashes returns the texts of the flash messages on the page.
func (b *browser) flashes(t *testing.T) []string {
	t.Helper()
	return run(t, b, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".flash")].map(e => e.textContent.trim())`))
}

// present reports whether the page has an element matching the CSS selector.
func (b *browser) present(t *testing.T, sel string) bool {
	t.Helper()
	return run(t, b, chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%q) !== null", sel)))
}

// text returns the text content of the first element matching the CSS
// selector, or "" when there is none; unlike chromedp.Text it does not wait
// for the element to appear.
func (b *browser) text(t *testing.T, sel string) string {
	t.Helper()
	return run(t, b, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q)?.textContent.trim() ?? ""`, sel)))
}

// visits returns the visit counter shown on the home page.
func (b *browser) visits(t *testing.T) int {
	t.Helper()
	var n int
	txt := b.text(t, "#visits")
	if _, err := fmt.Sscan(txt, &n); err != nil {
		t.Fatalf("visit counter %q: %v", txt, err)
	}
	return n
}

// screenshot saves a full-page PNG of the current page and checks that it
// decodes to a non-empty image with more than one color (a page, not a
// blank). It returns the file's path.
func (b *browser) screenshot(t *testing.T, name string) string {
	t.Helper()
	data := run(t, b, chromedp.FullScreenshot(100))
	file := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot %s: not a PNG: %v", file, err)
	}
	r := img.Bounds()
	if r.Dx() == 0 || r.Dy() == 0 {
		t.Fatalf("screenshot %s: empty image %v", file, r)
	}
	first := img.At(r.Min.X, r.Min.Y)
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			if img.At(x, y) != first {
				t.Logf("screenshot %s: %dx%d", file, r.Dx(), r.Dy())
				return file
			}
		}
	}
	t.Fatalf("screenshot %s: a blank %dx%d image", file, r.Dx(), r.Dy())
	return file
}

func (b *browser) loginWithoutRememberMe(t *testing.T) {
	b.fresh(t)
	b.open(t, "/")
	if !b.present(t, "#login-form") {
		t.Fatal("a new visitor to / does not get the login form")
	}
	b.screenshot(t, "login")
	b.login(t, "alice", false)
	b.screenshot(t, "home")

	c := b.sessionCookie(t)
	if c == nil {
		t.Fatalf("no %q cookie after login", cookieName)
	}
	if !c.Session {
		t.Errorf("without remember-me the cookie persists until %v, want a browser-session cookie", time.Unix(int64(c.Expires), 0))
	}
	if !c.HTTPOnly {
		t.Error("the session cookie is not HttpOnly")
	}
	if c.SameSite != network.CookieSameSiteLax {
		t.Errorf("the session cookie has SameSite %q, want Lax", c.SameSite)
	}
	// HttpOnly, seen from the page: script cannot read the session cookie.
	jsCookies := run(t, b, chromedp.Evaluate[string](`document.cookie`))
	for _, kv := range strings.Split(jsCookies, ";") {
		if name, _, _ := strings.Cut(strings.TrimSpace(kv), "="); name == cookieName {
			t.Errorf("document.cookie = %q exposes the session cookie", jsCookies)
		}
	}

	// The welcome flash shows once.
	if got := b.flashes(t); len(got) != 1 || !strings.Contains(got[0], "Welcome, alice") {
		t.Errorf("flashes after login = %q, want one welcome message", got)
	}
	if got := b.visits(t); got != 1 {
		t.Errorf("visit counter after login = %d, want 1", got)
	}
	b.do(t, chromedp.Reload())
	if got := b.flashes(t); len(got) != 0 {
		t.Errorf("flashes on reload = %q, want none (a flash shows once)", got)
	}
	if got := b.visits(t); got != 2 {
		t.Errorf("visit counter after a reload = %d, want 2", got)
	}
	if !strings.Contains(b.text(t, "#lifetime"), "close the browser") {
		t.Error("the home page does not say the session ends with the browser")
	}
}

func (b *browser) loginWithRememberMe(t *testing.T) {
	b.fresh(t)
	before := time.Now()
	b.login(t, "bob", true)
	after := time.Now()

	c := b.sessionCookie(t)
	if c == nil {
		t.Fatalf("no %q cookie after login", cookieName)
	}
	if c.Session {
		t.Fatal("with remember-me the cookie is a browser-session cookie, want one with Expires")
	}
	// Expires is whole seconds, truncated.
	exp := time.Unix(int64(c.Expires), 0)
	lo := before.Add(rememberTimeout).Add(-2 * time.Second)
	hi := after.Add(rememberTimeout).Add(2 * time.Second)
	if exp.Before(lo) || exp.After(hi) {
		t.Errorf("cookie expires at %v, want now + %v (%v .. %v)", exp, rememberTimeout, lo, hi)
	}
	if !c.HTTPOnly {
		t.Error("the session cookie is not HttpOnly")
	}
	if !strings.Contains(b.text(t, "#lifetime"), "remembered") {
		t.Error("the home page does not say the browser is remembered")
	}
}

func (b *browser) csrf(t *testing.T) {
	b.fresh(t)
	b.open(t, "/login")
	// A forged token in the browser's own form.
	b.do(t,
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SetAttributeValue(chromedp.CSS(`input[name="csrf"]`), "value", "forged"),
		chromedp.SendKeys(chromedp.CSS("#username"), "mallory"),
		chromedp.SendKeys(chromedp.CSS("#password"), "password"),
	)
	if status, _ := b.submit(t, chromedp.Click(chromedp.CSS("#login-button"))); status != http.StatusForbidden {
		t.Errorf("login with a forged CSRF token: status %d, want 403", status)
	}
	b.screenshot(t, "forbidden")
	if status, u := b.open(t, "/"); status != http.StatusOK || path(u) != "/login" {
		t.Errorf("after a forged login / leads to %d %s, want the login page", status, u)
	}

	// A cross-site form post carries no token (and, SameSite=Lax, no
	// cookie): refused too.
	resp, err := http.PostForm(b.srv.url("/login"), url.Values{"username": {"mallory"}, "password": {"password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("login without a CSRF token: status %d, want 403", resp.StatusCode)
	}

	// A wrong password is refused with the form again.
	b.open(t, "/login")
	b.do(t,
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#username"), "mallory"),
		chromedp.SendKeys(chromedp.CSS("#password"), "guess"),
	)
	if status, _ := b.submit(t, chromedp.Click(chromedp.CSS("#login-button"))); status != http.StatusUnauthorized {
		t.Errorf("login with a wrong password: status %d, want 401", status)
	}
	if !b.present(t, "#error") || !b.present(t, "#login-form") {
		t.Error("a wrong password does not show the form with an error")
	}
}

var sixDigits = regexp.MustCompile(`^[0-9]{6}$`)

func (b *browser) oneTimeCodeExpires(t *testing.T) {
	b.fresh(t)
	b.login(t, "carol", false)
	b.open(t, "/code")
	if !b.present(t, "#no-code") {
		t.Fatal("the code page shows a code before one was asked for")
	}
	asked := time.Now() // before the app set the code
	status, u := b.submit(t, chromedp.Click(chromedp.CSS("#code-button")))
	made := time.Now() // after the app set the code
	if status != http.StatusOK || path(u) != "/code" {
		t.Fatalf("asking for a code: got %d %s, want 200 /code", status, u)
	}
	code := b.text(t, "#otp")
	if !sixDigits.MatchString(code) {
		t.Fatalf("one-time code %q, want six digits", code)
	}
	b.do(t, chromedp.Reload())
	got := b.text(t, "#otp")
	// On a machine slow enough for the reload to outlast the TTL the code
	// may rightly be gone; the check needs the reload to end within it.
	if elapsed := time.Since(asked); elapsed < otpTTL && got != code {
		t.Fatalf("the code on reload, %v after it was asked for: %q, want %q", elapsed.Round(time.Millisecond), got, code)
	}
	b.screenshot(t, "code")

	b.do(t, chromedp.Sleep(time.Until(made.Add(otpTTL+500*time.Millisecond))))
	status, u = b.open(t, "/code")
	if status != http.StatusOK || path(u) != "/code" {
		t.Fatalf("after the code expired /code gives %d %s, want 200 /code (the session lives on)", status, u)
	}
	if b.present(t, "#otp") || !b.present(t, "#no-code") {
		t.Errorf("the one-time code is still shown %v after it was made, with a TTL of %v", time.Since(made).Round(time.Millisecond), otpTTL)
	}
	b.screenshot(t, "code-expired")
	b.open(t, "/")
	if got := b.text(t, "#user"); got != "carol" {
		t.Errorf("after the code expired the home page greets %q, want carol", got)
	}
}

func (b *browser) logout(t *testing.T) {
	b.fresh(t)
	b.login(t, "dave", true)
	old := b.sessionCookie(t)
	if old == nil {
		t.Fatalf("no %q cookie after login", cookieName)
	}

	status, u := b.submit(t, chromedp.Click(chromedp.CSS("#logout-button")))
	if status != http.StatusOK || path(u) != "/login" {
		t.Fatalf("logout: got %d %s, want 200 /login", status, u)
	}
	if got := b.flashes(t); len(got) != 1 || !strings.Contains(got[0], "logged out") {
		t.Errorf("flashes after logout = %q, want one logout message", got)
	}
	b.screenshot(t, "logged-out")
	if c := b.sessionCookie(t); c != nil && c.Value == old.Value {
		t.Error("the session cookie still holds the logged-out session")
	} else if c != nil && !c.Session {
		t.Error("after logout the new anonymous session's cookie persists; remember-me should be gone")
	}
	if _, u := b.open(t, "/"); path(u) != "/login" {
		t.Errorf("after logout / leads to %s, want /login", u)
	}
	if got := b.flashes(t); len(got) != 0 {
		t.Errorf("flashes on the next page = %q, want none", got)
	}

	// The old session is gone on the server: presenting its cookie again
	// does not log anyone in.
	b.do(t, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
			Name:     cookieName,
			Value:    old.Value,
			URL:      b.srv.url("/"),
			HTTPOnly: new(true),
		})
		return chromedp.Void{}, err
	})
	if _, u := b.open(t, "/"); path(u) != "/login" {
		t.Errorf("the logged-out session's cookie leads / to %s, want /login", u)
	}
}

func (b *browser) counterSurvivesRestart(t *testing.T) {
	b.fresh(t)
	b.login(t, "erin", false)
	b.do(t, chromedp.Reload())
	n := b.visits(t)
	if n != 2 {
		t.Fatalf("visit counter = %d, want 2", n)
	}

	start := time.Now()
	b.srv.restart(t)
	t.Logf("restarted the app in %v", time.Since(start).Round(time.Millisecond))

	b.do(t, chromedp.Reload())
	if got := b.text(t, "#user"); got != "erin" {
		t.Fatalf("after a restart the home page greets %q, want erin", got)
	}
	if got := b.visits(t); got != n+1 {
		t.Errorf("visit counter after a restart = %d, want %d", got, n+1)
	}
	b.screenshot(t, "after-restart")
}

// path returns the path of an absolute URL.
func path(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Path
}
