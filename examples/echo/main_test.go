package main

import (
	"testing"

	"github.com/sessionkit/sessionkit/examples/internal/demotest"
	"github.com/sessionkit/sessionkit/examples/internal/e2e"
)

// TestApp runs the app in headless Chromium; see package e2e.
func TestApp(t *testing.T) { e2e.Run(t) }

// TestSecurity runs the app's security checks in process; see package
// demotest.
func TestSecurity(t *testing.T) { demotest.Run(t, framework, serveApp) }
