package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReadWrkServerCPU checks the medians readWrk takes over rounds: the
// server's CPU time per request comes from the optional eighth field, and
// an app whose runs lack it reports none.
func TestReadWrkServerCPU(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wrk.tsv")
	tsv := "" +
		"fiber/bare steady 100000 5000 1000000 0 0 10.0\n" + // 10 µs a request
		"fiber/bare steady 90000 6000 900000 0 0 10.8\n" + // 12 µs
		"fiber/bare steady 80000 7000 800000 0 0 11.2\n" + // 14 µs
		"fiber/sessionkit-memory steady 80000 7000 800000 0 0 12.0\n" + // 15 µs
		"nethttp/bare steady 50000 9000 500000 0 0\n" + // an older file: no CPU field
		"gin/bare steady failed\n"
	if err := os.WriteFile(path, []byte(tsv), 0o600); err != nil {
		t.Fatal(err)
	}
	got := map[string]wrkRun{}
	if err := readWrk(path, got); err != nil {
		t.Fatal(err)
	}
	fb := got["steady fiber/bare"]
	if fb.rounds != 3 || fb.rps != 90000 || fb.p99 != 6*time.Millisecond || fb.requests != 2700000 {
		t.Errorf("fiber/bare = %+v, want 3 rounds, 90000 req/s, p99 6ms, 2700000 requests", fb)
	}
	if fb.cpu != 12*time.Microsecond {
		t.Errorf("fiber/bare server CPU per request = %v, want the median 12µs", fb.cpu)
	}
	if nh := got["steady nethttp/bare"]; nh.rounds != 1 || nh.cpu != 0 {
		t.Errorf("nethttp/bare = %+v, want 1 round and no server CPU", nh)
	}
	if g := got["steady gin/bare"]; !g.present || !g.invalid {
		t.Errorf("gin/bare = %+v, want a failed app", g)
	}
	d := data{wrk: got}
	if s := d.serverCPU("steady", app("fiber/bare")); s != "12.0 µs" {
		t.Errorf("serverCPU(fiber/bare) = %q, want %q", s, "12.0 µs")
	}
	if s := d.serverCPU("steady", app("fiber/sessionkit-memory")); s != "15.0 µs (+3.00 µs)" {
		t.Errorf("serverCPU(fiber/sessionkit-memory) = %q, want %q", s, "15.0 µs (+3.00 µs)")
	}
	if s := d.serverCPU("steady", app("nethttp/bare")); s != "–" {
		t.Errorf("serverCPU(nethttp/bare) = %q, want –", s)
	}
}
