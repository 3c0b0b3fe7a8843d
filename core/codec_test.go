package core

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

type codecCase struct {
	name string
	v    any
}

func codecCases() []codecCase {
	paris := time.FixedZone("CET", 3600)
	return []codecCase{
		{"nil", nil},
		{"string", "hello, wörld"},
		{"empty string", ""},
		{"string with NUL and invalid UTF-8", "a\x00\xff\xfe"},
		{"false", false},
		{"true", true},
		{"int", 42},
		{"negative int", -42},
		{"max int", math.MaxInt},
		{"min int", math.MinInt},
		{"int8", int8(-128)},
		{"int16", int16(math.MinInt16)},
		{"int32", int32(math.MaxInt32)},
		{"int64", int64(math.MinInt64)},
		{"uint", uint(math.MaxUint)},
		{"uint8", uint8(255)},
		{"uint16", uint16(math.MaxUint16)},
		{"uint32", uint32(math.MaxUint32)},
		{"uint64", uint64(math.MaxUint64)},
		{"float32", float32(3.25)},
		{"float64", 2.718281828},
		{"float64 inf", math.Inf(-1)},
		{"float64 negative zero", math.Copysign(0, -1)},
		{"bytes", []byte{0, 1, 2, 255}},
		{"empty bytes", []byte{}},
		{"nil bytes", []byte(nil)},
		{"time UTC", time.Date(2026, 3, 4, 5, 6, 7, 890123456, time.UTC)},
		{"time fixed offset", time.Date(2026, 3, 4, 5, 6, 7, 8, paris)},
		{"time unnamed offset", time.Date(1999, 12, 31, 23, 59, 59, 0, time.FixedZone("", -5*3600-1800))},
		{"time zero", time.Time{}},
		{"time before 1970", time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC)},
		{"duration", 90 * time.Minute},
		{"negative duration", -time.Nanosecond},
		{"strings", []string{"admin", "", "editor"}},
		{"nil strings", []string(nil)},
		{"empty strings", []string{}},
		{"ints", []int{1, -2, math.MaxInt, math.MinInt}},
		{"nil ints", []int(nil)},
		{"int64s", []int64{math.MinInt64, 0, 7}},
		{"float64s", []float64{1.5, -0, math.MaxFloat64}},
		{"bools", []bool{true, false, true}},
		{"empty bools", []bool{}},
		{"slice", []any{1, "two", 3.0, nil, []string{"x"}, map[string]any{"k": true}}},
		{"nil slice", []any(nil)},
		{"string map", map[string]string{"b": "2", "a": "1", "": ""}},
		{"nil string map", map[string]string(nil)},
		{"int map", map[string]int{"x": -1, "y": math.MaxInt}},
		{"empty int map", map[string]int{}},
		{"map", map[string]any{
			"user_id":  42,
			"name":     "Alice",
			"admin":    false,
			"login_at": time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
			"roles":    []string{"editor", "viewer"},
			"nested":   map[string]any{"deeper": []any{map[string]int{"n": 1}}},
		}},
		{"nil map", map[string]any(nil)},
		{"deep nesting", nest(maxDepth)},
	}
}

// nest returns a value made of depth containers around an int.
func nest(depth int) any {
	var v any = 1
	for i := range depth {
		if i%2 == 0 {
			v = []any{v}
		} else {
			v = map[string]any{"k": v}
		}
	}
	return v
}

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	c := NewCodec()
	for _, tc := range codecCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prefix := []byte("prefix")
			b, err := c.Encode(prefix, tc.v)
			if err != nil {
				t.Fatalf("Encode(%#v): %v", tc.v, err)
			}
			if string(b[:len(prefix)]) != "prefix" {
				t.Fatalf("Encode did not append to dst: %q", b)
			}
			got, err := c.Decode(b[len(prefix):])
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if reflect.TypeOf(got) != reflect.TypeOf(tc.v) {
				t.Fatalf("Decode type = %T, want %T", got, tc.v)
			}
			if !reflect.DeepEqual(got, tc.v) {
				t.Fatalf("Decode = %#v, want %#v", got, tc.v)
			}
		})
	}
}

func TestCodecUnsupported(t *testing.T) {
	t.Parallel()
	type point struct{ X, Y int }
	c := NewCodec()
	for _, v := range []any{
		point{1, 2},
		&point{},
		func() {},
		make(chan int),
		map[int]string{1: "a"},
		[]any{1, "ok", point{}},
		map[string]any{"ok": 1, "bad": []point{}},
		complex(1, 2),
	} {
		dst := []byte("keep")
		b, err := c.Encode(dst, v)
		if !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("Encode(%T) error = %v, want ErrUnsupportedType", v, err)
			continue
		}
		if string(b) != "keep" {
			t.Errorf("Encode(%T) returned %q, want dst unchanged", v, b)
		}
	}
}
