package e2e

import (
	"bytes"
	"image/png"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// device opens a new browser context of the same Chromium, with a cookie
// jar of its own (as a second device, or a private window, has), and
// returns a browser driving a tab in it. The context is disposed of when
// the test ends.
func (b *browser) device(t *testing.T) *browser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first action makes the tab, which lives as long as the context
	// of that action: it must not run under a timeout (an action's
	// deadline would close the tab after it), so the wait is bounded here.
	made := make(chan error, 1)
	go func() { made <- chromedp.Do(ctx) }()
	select {
	case err := <-made:
		if err != nil {
			t.Fatalf("a new browser context: %v", err)
		}
	case <-time.After(actionTimeout):
		t.Fatalf("a new browser context: no tab within %v", actionTimeout)
	}
	return &browser{ctx: ctx, srv: b.srv, shots: b.shots}
}

// deviceRow is one row of the devices page, as the page's script sees it.
type deviceRow struct {
	This   bool   `json:"this"`
	Handle string `json:"handle"`
}

// devices opens the devices page and returns its rows.
func (b *browser) devices(t *testing.T) []deviceRow {
	t.Helper()
	if status, u := b.open(t, "/devices"); status != http.StatusOK || path(u) != "/devices" {
		t.Fatalf("the devices page: got %d %s, want 200 /devices", status, u)
	}
	return b.deviceRows(t)
}

// deviceRows returns the rows of the devices page on screen.
func (b *browser) deviceRows(t *testing.T) []deviceRow {
	t.Helper()
	return run(t, b, chromedp.Evaluate[[]deviceRow](`[...document.querySelectorAll("tr.device")].map(r => ({
		this: r.classList.contains("this-device"),
		handle: r.querySelector('input[name="handle"]')?.value ?? "",
	}))`))
}

// thisDevice returns the handle of the row marked as this device.
func thisDevice(t *testing.T, rows []deviceRow) string {
	t.Helper()
	var h []string
	for _, r := range rows {
		if r.This {
			h = append(h, r.Handle)
		}
	}
	if len(h) != 1 || h[0] == "" {
		t.Fatalf("rows %+v: %d marked as this device, want 1 with a handle", rows, len(h))
	}
	return h[0]
}

// logOutOtherDevices: two browser contexts, two devices with their own
// cookies, log in as the same user; each sees both on its devices page;
// "log out other devices" on the laptop logs the phone out on its next
// page and keeps the laptop logged in; then a per-device revoke does the
// same to the phone logged in again.
func (b *browser) logOutOtherDevices(t *testing.T) {
	laptop, phone := b.device(t), b.device(t)
	laptop.login(t, "frank", true)
	phone.login(t, "frank", false)
	lc, pc := laptop.sessionCookie(t), phone.sessionCookie(t)
	if lc == nil || pc == nil || lc.Value == pc.Value {
		t.Fatal("the two browser contexts do not have sessions of their own")
	}

	fromPhone := phone.devices(t)
	fromLaptop := laptop.devices(t)
	if len(fromPhone) != 2 || len(fromLaptop) != 2 {
		t.Fatalf("frank's devices page lists %d devices on the phone and %d on the laptop, want 2 each", len(fromPhone), len(fromLaptop))
	}
	phoneHandle, laptopHandle := thisDevice(t, fromPhone), thisDevice(t, fromLaptop)
	if phoneHandle == laptopHandle {
		t.Fatal("the phone and the laptop are the same device on their pages")
	}
	if got := laptop.text(t, "#device-count"); got != "2" {
		t.Errorf("the laptop's page counts %q devices, want 2", got)
	}
	if !strings.Contains(laptop.text(t, "tr.this-device .remembered"), "yes") {
		t.Error("the laptop, logged in with remember-me, is not shown as remembered")
	}
	shot := laptop.screenshot(t, "devices")
	checkPNGFile(t, shot)

	status, u := laptop.submit(t, chromedp.Click(chromedp.CSS("#logout-others-button")))
	if status != http.StatusOK || path(u) != "/devices" {
		t.Fatalf("log out other devices: got %d %s, want 200 /devices", status, u)
	}
	if got := laptop.flashes(t); len(got) != 1 || got[0] != "Logged out 1 other device." {
		t.Errorf("flashes after log out other devices = %q, want the count", got)
	}
	if rows := laptop.deviceRows(t); len(rows) != 1 || rows[0].Handle != laptopHandle || !rows[0].This {
		t.Errorf("after log out other devices the laptop lists %+v, want itself only", rows)
	}
	laptop.screenshot(t, "devices-after-logout-others")

	// The phone finds out on its next navigation.
	if _, u := phone.open(t, "/devices"); path(u) != "/login" {
		t.Errorf("the logged-out phone's next page is %s, want /login", u)
	}
	if _, u := phone.open(t, "/"); path(u) != "/login" {
		t.Errorf("the logged-out phone's / leads to %s, want /login", u)
	}
	if _, u := laptop.open(t, "/"); path(u) != "/" || laptop.text(t, "#user") != "frank" {
		t.Errorf("the laptop is not logged in any more after logging out the others: %s", u)
	}

	// The phone logs in again; the laptop revokes it with its button.
	phone.login(t, "frank", false)
	if rows := laptop.devices(t); len(rows) != 2 {
		t.Fatalf("after the phone logged in again the laptop lists %d devices, want 2", len(rows))
	}
	status, u = laptop.submit(t, chromedp.Click(chromedp.CSS("tr.device:not(.this-device) .revoke-button")))
	if status != http.StatusOK || path(u) != "/devices" {
		t.Fatalf("revoke the phone: got %d %s, want 200 /devices", status, u)
	}
	if got := laptop.flashes(t); len(got) != 1 || got[0] != "The device is logged out." {
		t.Errorf("flashes after revoking the phone = %q", got)
	}
	if _, u := phone.open(t, "/"); path(u) != "/login" {
		t.Errorf("the revoked phone's / leads to %s, want /login", u)
	}
	if rows := laptop.devices(t); len(rows) != 1 || !rows[0].This {
		t.Errorf("after revoking the phone the laptop lists %+v, want itself only", rows)
	}
}

// checkPNGFile checks that the file on disk is a PNG image with pixels.
func checkPNGFile(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("%s (%d bytes) is not a PNG file", file, len(data))
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width == 0 || cfg.Height == 0 {
		t.Fatalf("%s: %dx%d, %v; want a non-empty PNG", file, cfg.Width, cfg.Height, err)
	}
}
