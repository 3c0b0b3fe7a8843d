// Package e2e is the end-to-end test driver of the example apps: it builds
// an app, runs it as a separate process on a free port with a SQLite store,
// and drives it with headless Chromium through chromedp — login with and
// without remember-me, CSRF, flash messages, the one-time code's per-key
// TTL, logout, "Your devices" with two browser contexts logged in as the
// same user (one logs the other out), and a restart that keeps the
// sessions.
//
// Each app's test is one line:
//
//	func TestApp(t *testing.T) { e2e.Run(t) }
package e2e
