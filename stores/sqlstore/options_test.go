package sqlstore

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

var testDialect = &Dialect{
	Name:          "teststore",
	MaxRecordSize: 8 << 20,
	MaxTableName:  30, // the default table name fits
	CheckTable: func(name string) error {
		if strings.HasPrefix(name, "sys_") {
			return errors.New("teststore: reserved")
		}
		return nil
	},
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"s", "S_2", "_x", "9lives", strings.Repeat("t", 30)} {
		if err := Validate(testDialect, WithTable(name)); err != nil {
			t.Errorf("WithTable(%q): %v", name, err)
		}
	}
	for _, tc := range []struct {
		opt  Option
		want string
	}{
		{WithTable(""), "empty table name"},
		{WithTable(strings.Repeat("t", 31)), "longer than 30"},
		{WithTable("a-b"), "table name"},
		{WithTable(`a"b`), "table name"},
		{WithTable("a`b"), "table name"},
		{WithTable("a b"), "table name"},
		{WithTable("é"), "table name"},
		{WithTable("sys_x"), "reserved"},
		{WithCleanupInterval(-time.Second), "negative cleanup interval"},
		{WithMaxRecordSize(0), "max record size"},
		{WithMaxRecordSize(8<<20 + 1), "max record size"},
	} {
		err := Validate(testDialect, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "teststore: ") {
			t.Errorf("%s: Validate = %v, want an error of teststore mentioning %q", tc.want, err, tc.want)
		}
	}
	if err := Validate(testDialect, nil, WithLogger(nil)); err != nil {
		t.Errorf("a nil option and a nil logger: %v", err)
	}
}

func TestNanos(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, tc := range []struct {
		t    time.Time
		want int64
	}{
		{time.Time{}, 0},
		{now, now.UnixNano()},
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64},
		{time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), math.MinInt64},
	} {
		if got := Nanos(tc.t); got != tc.want {
			t.Errorf("Nanos(%v) = %d, want %d", tc.t, got, tc.want)
		}
	}
}
