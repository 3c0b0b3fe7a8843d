package main

import (
	"testing"

	"github.com/sessionkit/sessionkit/examples/internal/e2e"
)

// TestApp runs the app in headless Chromium; see package e2e.
func TestApp(t *testing.T) { e2e.Run(t) }
