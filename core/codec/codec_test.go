package codec

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core/record"
)

type codecCase struct {
	name string
	v    any
}

func codecCases() []codecCase {
	// Zone names that no local zone uses, or the decoder would rightly
	// return time.Local on a machine in that zone.
	plusOne := time.FixedZone("XPO", 3600)
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
		{"time fixed offset", time.Date(2026, 3, 4, 5, 6, 7, 8, plusOne)},
		{"time far future", time.Unix(1<<62, 999999999).In(plusOne)},
		{"time far past", time.Unix(-1<<62, 0).UTC()},
		{"time unnamed offset", time.Date(1999, 12, 31, 23, 59, 59, 0, time.FixedZone("", -5*3600-1801))},
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
	c := New()
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
	c := New()
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

func TestCodecLocalAndNamedZones(t *testing.T) {
	t.Parallel()
	c := New()

	now := time.Now()
	b, err := c.Encode(nil, now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Round(0); !reflect.DeepEqual(got, want) {
		t.Fatalf("local time: got %#v, want %#v (monotonic reading dropped)", got, want)
	}

	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no tz database: %v", err)
	}
	ny := time.Date(2026, 7, 4, 12, 0, 0, 0, loc)
	if b, err = c.Encode(nil, ny); err != nil {
		t.Fatal(err)
	}
	if got, err = c.Decode(b); err != nil {
		t.Fatal(err)
	}
	gt := got.(time.Time)
	gn, go_ := gt.Zone()
	wn, wo := ny.Zone()
	if !gt.Equal(ny) || gn != wn || go_ != wo || gt.String() != ny.String() {
		t.Fatalf("named zone: got %v (%s %d), want %v (%s %d)", gt, gn, go_, ny, wn, wo)
	}
}

func TestCodecTruncated(t *testing.T) {
	t.Parallel()
	c := New()
	Register[codecUser](c, "user")
	cases := append(codecCases(), codecCase{"registered", codecUser{ID: 7, Name: "Bob"}})
	for _, tc := range cases {
		b, err := c.Encode(nil, tc.v)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for i := range len(b) {
			v, err := c.Decode(b[:i])
			if !errors.Is(err, record.ErrCorrupt) {
				t.Errorf("%s: Decode of the first %d of %d bytes = %#v, %v; want record.ErrCorrupt", tc.name, i, len(b), v, err)
			}
		}
		trailing := append(b[:len(b):len(b)], 0)
		if _, err := c.Decode(trailing); !errors.Is(err, record.ErrCorrupt) {
			t.Errorf("%s: Decode with a trailing byte: %v, want record.ErrCorrupt", tc.name, err)
		}
	}
}

// uv returns x as a uvarint, to build hostile inputs.
func uv(x uint64) string {
	var b []byte
	for x >= 0x80 {
		b = append(b, byte(x)|0x80)
		x >>= 7
	}
	return string(append(b, byte(x)))
}

func TestCodecCorrupt(t *testing.T) {
	t.Parallel()
	c := New()
	Register[codecUser](c, "user")
	deep := ""
	for range maxDepth + 1 {
		deep += string([]byte{tagSlice}) + uv(2)
	}
	deep += string([]byte{tagNil})
	for _, tc := range []struct {
		name string
		data string
	}{
		{"empty", ""},
		{"unknown tag", string([]byte{numTags})},
		{"tag 255", "\xff"},
		{"varint overflow", string([]byte{tagInt64}) + "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"},
		{"int16 overflow", string([]byte{tagInt16}) + uv(1<<17)},
		{"int32 overflow", string([]byte{tagInt32}) + uv(1<<33)},
		{"uint16 overflow", string([]byte{tagUint16}) + uv(1<<16)},
		{"uint32 overflow", string([]byte{tagUint32}) + uv(1<<32)},
		{"huge string", string([]byte{tagString}) + uv(1<<62) + "abc"},
		{"huge bytes", string([]byte{tagBytes}) + uv(1<<40) + "abc"},
		{"huge slice", string([]byte{tagSlice}) + uv(1<<40) + "\x00\x00"},
		{"max count", string([]byte{tagStrings}) + uv(math.MaxUint64)},
		{"slice longer than data", string([]byte{tagSlice}) + uv(4) + "\x00\x00"},
		{"float64s longer than data", string([]byte{tagFloat64s}) + uv(3) + "12345678"},
		{"map longer than data", string([]byte{tagMap}) + uv(3) + "\x00\x00\x00"},
		{"bad bool", string([]byte{tagBools}) + uv(2) + "\x02"},
		{"bad nanoseconds", string([]byte{tagTime}) + uv(0) + uv(2e9)},
		{"time zone offset overflow", string([]byte{tagTime}) + uv(0) + uv(1) + uv(1<<40) + uv(0)},
		{"duplicate map key", string([]byte{tagStringMap}) + uv(3) + "\x01a\x01x\x01a\x01y"},
		{"duplicate any map key", string([]byte{tagMap}) + uv(3) + "\x01a\x00\x01a\x00"},
		{"nested too deep", deep},
		{"bad registered JSON", string([]byte{tagRegistered}) + "\x04user" + uv(3) + "{x}"},
		{"registered JSON of the wrong shape", string([]byte{tagRegistered}) + "\x04user" + uv(2) + "[]"},
		{"trailing bytes", string([]byte{tagNil, tagNil})},
	} {
		v, err := c.Decode([]byte(tc.data))
		if !errors.Is(err, record.ErrCorrupt) {
			t.Errorf("%s: Decode = %#v, %v; want record.ErrCorrupt", tc.name, v, err)
		}
	}
}

// TestCodecDecodeAllocBound checks that nested containers cannot each claim
// the whole input: without the reservation of the bytes that enclosing
// containers still need, this input would make every level allocate a
// slice as long as the input.
func TestCodecDecodeAllocBound(t *testing.T) {
	// Not parallel: it measures the heap.
	const size = 64 << 10
	var hostile []byte
	for range maxDepth {
		hostile = append(hostile, tagSlice)
		hostile = append(hostile, uv(uint64(size-len(hostile)-4))...)
	}
	hostile = append(hostile, make([]byte, size-len(hostile))...)
	c := New()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := c.Decode(hostile)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, record.ErrCorrupt) {
		t.Fatalf("Decode: %v, want record.ErrCorrupt", err)
	}
	// One []any of at most size elements of 16 bytes, plus small change.
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(size*16+64<<10); got > limit {
		t.Fatalf("Decode of %d hostile bytes allocated %d bytes, want at most %d", size, got, limit)
	}
}

func TestCodecTooDeepToEncode(t *testing.T) {
	t.Parallel()
	c := New()
	cyclic := []any{nil}
	cyclic[0] = cyclic
	self := map[string]any{}
	self["self"] = self
	for name, v := range map[string]any{"cyclic slice": cyclic, "cyclic map": self, "too deep": nest(maxDepth + 1)} {
		b, err := c.Encode(nil, v)
		if !errors.Is(err, ErrUnsupportedType) || len(b) != 0 {
			t.Errorf("%s: Encode = %d bytes, %v; want ErrUnsupportedType and nothing written", name, len(b), err)
		}
	}
}

func TestCodecDeterministic(t *testing.T) {
	t.Parallel()
	c := New()
	m := map[string]any{}
	sm := map[string]string{}
	for i := range 100 { // more keys than the sort buffer on the stack
		k := string(rune('A' + i))
		m[k] = i
		sm[k] = k
	}
	v := []any{m, sm, map[string]int{"a": 1, "b": 2, "c": 3}}
	first, err := c.Encode(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := c.Encode(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatal("two encodings of the same value differ")
		}
	}
}

func TestCodecDecodeDoesNotRetain(t *testing.T) {
	t.Parallel()
	c := New()
	want := []any{"text", []byte("bytes"), []string{"s"}, map[string]string{"k": "v"}}
	b, err := c.Encode(nil, want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'X'
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("value changed with its input: %#v", got)
	}
}

func TestCodecEncodeAllocs(t *testing.T) {
	// Not parallel: AllocsPerRun refuses to run in parallel tests.
	c := New()
	v := typicalSession()
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = c.Encode(buf[:0], v); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Encode of a typical session into a large enough buffer: %v allocs, want 0", allocs)
	}
}

type codecUser struct {
	ID      int       `json:"id"`
	Name    string    `json:"name"`
	Roles   []string  `json:"roles,omitempty"`
	Created time.Time `json:"created"`
}

type codecCart struct {
	Items map[string]int
}

type codecRole string

func TestCodecRegistered(t *testing.T) {
	t.Parallel()
	c := New()
	Register[codecUser](c, "user")
	Register[*codecCart](c, "cart")
	Register[codecRole](c, "role")
	Register[codecUser](c, "user") // same name and type again: a no-op

	u := codecUser{ID: 7, Name: "Bob", Roles: []string{"admin"}, Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, want := range []any{
		u,
		&codecCart{Items: map[string]int{"apple": 3}},
		(*codecCart)(nil),
		codecRole("admin"),
		map[string]any{"user": u, "roles": []any{codecRole("a"), codecRole("b")}},
	} {
		b, err := c.Encode(nil, want)
		if err != nil {
			t.Fatalf("Encode(%T): %v", want, err)
		}
		got, err := c.Decode(b)
		if err != nil {
			t.Fatalf("Decode(%T): %v", want, err)
		}
		if reflect.TypeOf(got) != reflect.TypeOf(want) || !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip: got %#v, want %#v", got, want)
		}
	}

	// Registration is exact: a *codecUser is not a codecUser.
	if _, err := c.Encode(nil, &u); !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("Encode(*codecUser) with only codecUser registered: %v, want ErrUnsupportedType", err)
	}
	if _, err := c.Encode(nil, codecCart{}); !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("Encode(codecCart) with only *codecCart registered: %v, want ErrUnsupportedType", err)
	}
}

func TestCodecUnsupportedErrorNamesType(t *testing.T) {
	t.Parallel()
	_, err := New().Encode(nil, map[string]any{"u": codecUser{}})
	if err == nil || !strings.Contains(err.Error(), "codec.codecUser") || !strings.Contains(err.Error(), `"u"`) {
		t.Fatalf("error %q does not name the type and where it is", err)
	}
}

func TestCodecsAreIndependent(t *testing.T) {
	t.Parallel()
	a, b := New(), New()
	Register[codecUser](a, "user")
	Register[codecCart](b, "user") // same name, another type, another codec

	enc, err := a.Encode(nil, codecUser{ID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Encode(nil, codecUser{ID: 1}); !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("b encodes a type only a registered: %v", err)
	}
	if _, err := New().Decode(enc); !errors.Is(err, record.ErrCorrupt) || !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("a fresh codec decoding a registered value: %v, want record.ErrCorrupt and ErrUnsupportedType", err)
	}
	// Names, not Go types, are what the bytes carry: b decodes "user" as
	// its own type.
	got, err := b.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.(codecCart); !ok {
		t.Fatalf("b decoded %T, want codecCart", got)
	}
	if got, err := a.Decode(enc); err != nil || !reflect.DeepEqual(got, codecUser{ID: 1}) {
		t.Fatalf("a decoded %#v, %v", got, err)
	}
}

func TestRegisterPanics(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]func(){
		"name taken by another type": func() {
			c := New()
			Register[codecUser](c, "x")
			Register[codecCart](c, "x")
		},
		"type registered under another name": func() {
			c := New()
			Register[codecUser](c, "x")
			Register[codecUser](c, "y")
		},
		"empty name":     func() { Register[codecUser](New(), "") },
		"interface type": func() { Register[error](New(), "err") },
		"native type":    func() { Register[time.Time](New(), "time") },
		"nil codec":      func() { Register[codecUser](nil, "user") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Register did not panic", name)
				}
			}()
			f()
		}()
	}
}

func TestRegisterWhileInUse(t *testing.T) {
	t.Parallel()
	c := New()
	Register[codecUser](c, "user")
	enc, err := c.Encode(nil, codecUser{ID: 1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if _, err := c.Encode(nil, codecUser{ID: 2}); err != nil {
					t.Error(err)
					return
				}
				if _, err := c.Decode(enc); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		Register[codecCart](c, "cart")
		Register[codecRole](c, "role")
		Register[*codecUser](c, "user-ptr")
	})
	wg.Wait()
	if _, err := c.Encode(nil, codecRole("x")); err != nil {
		t.Fatalf("type registered concurrently: %v", err)
	}
}
