// Package codec is sessionkit's default value codec, the one
// core.NewManager uses unless core.WithCodec picks another: a compact,
// deterministic binary format in which values keep their Go types across
// a save and a load (an int comes back an int, a time.Time a time.Time),
// so that core.GetAs works on a loaded session as on a fresh one. Structs
// of the app's own are kept as JSON under a registered name ([Register]).
// Decode never panics on hostile bytes and bounds what they can make it
// allocate.
package codec

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessionkit/core/record"
)

// ErrUnsupportedType is returned (wrapped) by [Binary.Encode] for a
// value whose Go type the codec cannot encode (a func, a chan, a
// map[int]string, a struct that was not registered with [Register], a value
// nested too deeply), and by [Binary.Decode], together with
// [record.ErrCorrupt], for a value of a registered type the codec does not know.
var ErrUnsupportedType = errors.New("codec: unsupported session value type")

// maxDepth bounds the nesting of []any and map[string]any values, on
// encode (a value that contains itself would recurse forever) and on decode
// (hostile bytes must not exhaust the stack).
const maxDepth = 32

// Tags of the binary format. Each encoded value starts with one; a tag is
// never reused for another meaning, so data written by an older release
// stays readable.
const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagString
	tagInt
	tagInt8
	tagInt16
	tagInt32
	tagInt64
	tagUint
	tagUint8
	tagUint16
	tagUint32
	tagUint64
	tagFloat32
	tagFloat64
	tagBytes
	tagTime
	tagDuration
	tagStrings
	tagInts
	tagInt64s
	tagFloat64s
	tagBools
	tagSlice
	tagStringMap
	tagIntMap
	tagMap
	tagRegistered
	numTags
)

// Binary is the default core.Codec: a compact tagged binary format with
// varints, built for speed and few allocations.
//
// These types round-trip with their Go type intact: nil, string, bool, int,
// int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32,
// float64, []byte, [time.Time], [time.Duration], []string, []int, []int64,
// []float64, []bool, []any, map[string]string, map[string]int and
// map[string]any, the last two kinds nested up to 32 levels deep. A nil
// slice or map decodes as nil, an empty one as empty. A time.Time keeps its
// instant and its zone offset and name; its monotonic clock reading is
// dropped, and its location comes back as [time.UTC], as [time.Local] when
// the local zone has the same name and offset at that instant, or else as a
// [time.FixedZone] (so a named location such as Europe/Paris comes back as
// a fixed zone like "CET" +01:00). Named types (type Role string) and
// structs are encoded only once registered with [Register].
//
// Encoding is deterministic: map keys are written in sorted order, so equal
// values give equal bytes.
//
// The zero value is ready to use; [New] returns one. A Binary is
// safe for concurrent use, including [Register] while other goroutines
// encode and decode, and must not be copied after first use.
type Binary struct {
	mu  sync.Mutex               // serializes Register
	reg atomic.Pointer[registry] // copy-on-write; nil until the first Register
}

// New returns a [Binary] with no registered types. It is the
// codec a manager uses unless told otherwise.
func New() *Binary {
	return &Binary{}
}

// registry holds the types registered with one codec. It is never modified
// once published: Register builds a new one.
type registry struct {
	byType map[reflect.Type]*regType
	byName map[string]*regType
}

type regType struct {
	name   string
	typ    reflect.Type
	decode func(data []byte) (any, error)
}

// Register makes c encode values whose dynamic type is exactly T, as JSON
// (encoding/json) under name, and decode them back into a T, so that
// GetAs[T] finds a T. Registration is exact: registering User covers User
// values, not *User ones, and the decoded value is a User; register *User
// to store pointers and get pointers back. The encoding/json rules apply:
// only exported fields survive, and an interface-typed field comes back as
// JSON's map[string]any, float64 and so on. The name, not the Go type, is
// written into every encoded value, so keep it stable across releases; a
// codec decodes it as whatever type it registered under that name.
//
// Register is safe to call while c is in use, and registering the same name
// and type again is a no-op. It panics, like [regexp.MustCompile], on a
// configuration mistake: a nil codec, an empty name, an interface type, a
// type the codec encodes natively, a name already registered for another
// type or a type already registered under another name.
func Register[T any](c *Binary, name string) {
	t := reflect.TypeFor[T]()
	if c == nil {
		panic("codec: Register on a nil *Binary")
	}
	if name == "" {
		panic(fmt.Sprintf("codec: Register(%s): empty name", t))
	}
	if t.Kind() == reflect.Interface {
		panic(fmt.Sprintf("codec: Register(%s, %q): cannot register an interface type", t, name))
	}
	if isNative(t) {
		panic(fmt.Sprintf("codec: Register(%s, %q): type is encoded natively", t, name))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.reg.Load()
	if old != nil {
		if rt, ok := old.byName[name]; ok {
			if rt.typ == t {
				return
			}
			panic(fmt.Sprintf("codec: Register(%s, %q): name already registered for %s", t, name, rt.typ))
		}
		if rt, ok := old.byType[t]; ok {
			panic(fmt.Sprintf("codec: Register(%s, %q): type already registered as %q", t, name, rt.name))
		}
	}
	next := &registry{
		byType: make(map[reflect.Type]*regType),
		byName: make(map[string]*regType),
	}
	if old != nil {
		for k, v := range old.byType {
			next.byType[k] = v
		}
		for k, v := range old.byName {
			next.byName[k] = v
		}
	}
	rt := &regType{
		name: name,
		typ:  t,
		decode: func(data []byte) (any, error) {
			var v T
			if err := json.Unmarshal(data, &v); err != nil {
				return nil, err
			}
			return v, nil
		},
	}
	next.byType[t] = rt
	next.byName[name] = rt
	c.reg.Store(next)
}

// isNative reports whether the encoder's type switch handles t, so that
// registering it would have no effect.
func isNative(t reflect.Type) bool {
	switch t {
	case reflect.TypeFor[string](), reflect.TypeFor[bool](),
		reflect.TypeFor[int](), reflect.TypeFor[int8](), reflect.TypeFor[int16](),
		reflect.TypeFor[int32](), reflect.TypeFor[int64](),
		reflect.TypeFor[uint](), reflect.TypeFor[uint8](), reflect.TypeFor[uint16](),
		reflect.TypeFor[uint32](), reflect.TypeFor[uint64](),
		reflect.TypeFor[float32](), reflect.TypeFor[float64](),
		reflect.TypeFor[[]byte](), reflect.TypeFor[time.Time](), reflect.TypeFor[time.Duration](),
		reflect.TypeFor[[]string](), reflect.TypeFor[[]int](), reflect.TypeFor[[]int64](),
		reflect.TypeFor[[]float64](), reflect.TypeFor[[]bool](), reflect.TypeFor[[]any](),
		reflect.TypeFor[map[string]string](), reflect.TypeFor[map[string]int](),
		reflect.TypeFor[map[string]any]():
		return true
	}
	return false
}

// Encode appends the encoding of v to dst. On error it returns dst with
// its original length, never a half-written value; an unsupported type is
// an error wrapping [ErrUnsupportedType] that names the Go type.
func (c *Binary) Encode(dst []byte, v any) ([]byte, error) {
	n := len(dst)
	out, err := encodeValue(c.reg.Load(), dst, v, 0)
	if err != nil {
		return dst[:n], err
	}
	return out, nil
}

func appendVarint(b []byte, x int64) []byte { return binary.AppendVarint(b, x) }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendCount writes the length of a slice or map, plus one; 0 stands for
// nil, so that nil and empty stay distinct.
func appendCount(b []byte, n int, isNil bool) []byte {
	if isNil {
		return append(b, 0)
	}
	return binary.AppendUvarint(b, uint64(n)+1)
}

type entry[V any] struct {
	k string
	v V
}

// sortedEntries returns the entries of m sorted by key, in buf when it is
// large enough, so that small maps are sorted without allocating.
func sortedEntries[V any](m map[string]V, buf []entry[V]) []entry[V] {
	s := buf[:0]
	for k, v := range m {
		s = append(s, entry[V]{k, v})
	}
	if len(s) > 1 {
		slices.SortFunc(s, func(a, b entry[V]) int { return strings.Compare(a.k, b.k) })
	}
	return s
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, tagTime)
	b = appendVarint(b, t.Unix())
	ns := uint64(t.Nanosecond()) << 1
	if t.Location() == time.UTC {
		return binary.AppendUvarint(b, ns)
	}
	name, off := t.Zone()
	b = binary.AppendUvarint(b, ns|1)
	b = appendVarint(b, int64(off))
	return appendString(b, name)
}

func encodeValue(reg *registry, b []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, tagNil), nil
	case string:
		return appendString(append(b, tagString), x), nil
	case bool:
		if x {
			return append(b, tagTrue), nil
		}
		return append(b, tagFalse), nil
	case int:
		return appendVarint(append(b, tagInt), int64(x)), nil
	case int64:
		return appendVarint(append(b, tagInt64), x), nil
	case int32:
		return appendVarint(append(b, tagInt32), int64(x)), nil
	case int16:
		return appendVarint(append(b, tagInt16), int64(x)), nil
	case int8:
		return append(b, tagInt8, byte(x)), nil
	case uint:
		return binary.AppendUvarint(append(b, tagUint), uint64(x)), nil
	case uint64:
		return binary.AppendUvarint(append(b, tagUint64), x), nil
	case uint32:
		return binary.AppendUvarint(append(b, tagUint32), uint64(x)), nil
	case uint16:
		return binary.AppendUvarint(append(b, tagUint16), uint64(x)), nil
	case uint8:
		return append(b, tagUint8, x), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat64), math.Float64bits(x)), nil
	case float32:
		return binary.LittleEndian.AppendUint32(append(b, tagFloat32), math.Float32bits(x)), nil
	case []byte:
		b = appendCount(append(b, tagBytes), len(x), x == nil)
		return append(b, x...), nil
	case time.Time:
		return appendTime(b, x), nil
	case time.Duration:
		return appendVarint(append(b, tagDuration), int64(x)), nil
	case []string:
		b = appendCount(append(b, tagStrings), len(x), x == nil)
		for _, s := range x {
			b = appendString(b, s)
		}
		return b, nil
	case []int:
		b = appendCount(append(b, tagInts), len(x), x == nil)
		for _, n := range x {
			b = appendVarint(b, int64(n))
		}
		return b, nil
	case []int64:
		b = appendCount(append(b, tagInt64s), len(x), x == nil)
		for _, n := range x {
			b = appendVarint(b, n)
		}
		return b, nil
	case []float64:
		b = appendCount(append(b, tagFloat64s), len(x), x == nil)
		for _, f := range x {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
		}
		return b, nil
	case []bool:
		b = appendCount(append(b, tagBools), len(x), x == nil)
		for _, t := range x {
			if t {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		}
		return b, nil
	case []any:
		if depth >= maxDepth {
			return b, tooDeep(v)
		}
		b = appendCount(append(b, tagSlice), len(x), x == nil)
		for i, e := range x {
			var err error
			if b, err = encodeValue(reg, b, e, depth+1); err != nil {
				return b, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return b, nil
	case map[string]string:
		b = appendCount(append(b, tagStringMap), len(x), x == nil)
		var buf [16]entry[string]
		for _, e := range sortedEntries(x, buf[:0]) {
			b = appendString(appendString(b, e.k), e.v)
		}
		return b, nil
	case map[string]int:
		b = appendCount(append(b, tagIntMap), len(x), x == nil)
		var buf [16]entry[int]
		for _, e := range sortedEntries(x, buf[:0]) {
			b = appendVarint(appendString(b, e.k), int64(e.v))
		}
		return b, nil
	case map[string]any:
		if depth >= maxDepth {
			return b, tooDeep(v)
		}
		b = appendCount(append(b, tagMap), len(x), x == nil)
		var buf [16]entry[any]
		for _, e := range sortedEntries(x, buf[:0]) {
			b = appendString(b, e.k)
			var err error
			if b, err = encodeValue(reg, b, e.v, depth+1); err != nil {
				return b, fmt.Errorf("[%q]: %w", e.k, err)
			}
		}
		return b, nil
	}
	return encodeRegistered(reg, b, v)
}

func tooDeep(v any) error {
	return fmt.Errorf("%w: %T nested deeper than %d levels (does it contain itself?)", ErrUnsupportedType, v, maxDepth)
}

func encodeRegistered(reg *registry, b []byte, v any) ([]byte, error) {
	t := reflect.TypeOf(v)
	var rt *regType
	if reg != nil {
		rt = reg.byType[t]
	}
	if rt == nil {
		return b, fmt.Errorf("%w %s (register it with codec.Register)", ErrUnsupportedType, t)
	}
	js, err := json.Marshal(v)
	if err != nil {
		return b, fmt.Errorf("codec: encoding registered type %s (%q) as JSON: %w", t, rt.name, err)
	}
	b = appendString(append(b, tagRegistered), rt.name)
	b = binary.AppendUvarint(b, uint64(len(js)))
	return append(b, js...), nil
}

// Decode returns the value encoded in data, with its Go type intact. It
// never retains data. Malformed input, including trailing bytes, is an
// error wrapping [record.ErrCorrupt]; a value of a type registered in another
// codec but not in c also wraps [ErrUnsupportedType]. Input whose layout
// is malformed is refused before anything is allocated; otherwise Decode
// allocates in proportion to the elements present, never to a count the
// input claims (a []any takes 16 bytes per element however short its
// encoding, so a valid value can still decode to several times its size).
func (c *Binary) Decode(data []byte) (any, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty value", record.ErrCorrupt)
	}
	// For a slice or a map, a first pass checks the layout without
	// allocating, so that every count the second pass pre-sizes a slice
	// with is backed by elements actually present: a value that claims a
	// large count and breaks off costs nothing. A scalar allocates no more
	// than its own bytes and is decoded at once.
	if isContainer(data[0]) {
		sk := decoder{b: data}
		if err := sk.skip(0); err != nil {
			return nil, err
		}
		if len(sk.b) != 0 {
			return nil, fmt.Errorf("%w: %d trailing bytes after the value", record.ErrCorrupt, len(sk.b))
		}
	}
	d := decoder{b: data, reg: c.reg.Load()}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after the value", record.ErrCorrupt, len(d.b))
	}
	return v, nil
}

// decoder reads one value. Every length it reads is checked against the
// bytes left; reserved counts the bytes that the elements still to come of
// the enclosing containers need at least, so that nested containers cannot
// each claim the whole input. [Binary.Decode] runs [decoder.skip]
// over the input before decoding it, so slices are allocated at counts
// whose elements are known to be there; maps, whose entries may repeat a
// key, grow as entries are read.
type decoder struct {
	b        []byte
	reserved int
	reg      *registry
}

var (
	errTruncated = fmt.Errorf("%w: truncated value", record.ErrCorrupt)
	errVarint    = fmt.Errorf("%w: malformed varint", record.ErrCorrupt)
	errTooDeep   = fmt.Errorf("%w: values nested deeper than %d levels", record.ErrCorrupt, maxDepth)
)

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{record.ErrCorrupt}, args...)...)
}

// avail returns the bytes left that the current value may use. It is
// negative-free: once the input cannot hold the elements still promised,
// nothing more fits.
func (d *decoder) avail() int { return max(len(d.b)-d.reserved, 0) }

func (d *decoder) readByte() (byte, error) {
	if d.avail() < 1 {
		return 0, errTruncated
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c, nil
}

func (d *decoder) uvarint() (uint64, error) {
	x, k := binary.Uvarint(d.b)
	if k <= 0 {
		if k == 0 {
			return 0, errTruncated
		}
		return 0, errVarint
	}
	d.b = d.b[k:]
	return x, nil
}

func (d *decoder) varint() (int64, error) {
	x, k := binary.Varint(d.b)
	if k <= 0 {
		if k == 0 {
			return 0, errTruncated
		}
		return 0, errVarint
	}
	d.b = d.b[k:]
	return x, nil
}

// signed reads a varint that must fit in bits bits.
func (d *decoder) signed(bits int) (int64, error) {
	x, err := d.varint()
	if err != nil {
		return 0, err
	}
	if bits < 64 && (x < -1<<(bits-1) || x >= 1<<(bits-1)) {
		return 0, corrupt("%d overflows int%d", x, bits)
	}
	return x, nil
}

// unsigned reads a uvarint that must fit in bits bits.
func (d *decoder) unsigned(bits int) (uint64, error) {
	x, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if bits < 64 && x >= 1<<bits {
		return 0, corrupt("%d overflows uint%d", x, bits)
	}
	return x, nil
}

// take returns the next n bytes, aliasing the input.
func (d *decoder) take(n uint64) ([]byte, error) {
	if n > uint64(d.avail()) {
		return nil, errTruncated
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s, nil
}

func (d *decoder) string() (string, error) {
	n, err := d.uvarint()
	if err != nil {
		return "", err
	}
	s, err := d.take(n)
	return string(s), err
}

// count reads the element count of a slice or map whose elements take at
// least size bytes each, and checks that the input can hold them.
func (d *decoder) count(size int) (n int, isNil bool, err error) {
	x, err := d.uvarint()
	if err != nil {
		return 0, false, err
	}
	if x == 0 {
		return 0, true, nil
	}
	x--
	if x > uint64(d.avail()/size) {
		return 0, false, corrupt("%d elements exceed the %d bytes left", x, d.avail())
	}
	return int(x), false, nil
}

func (d *decoder) float64() (float64, error) {
	s, err := d.take(8)
	if err != nil {
		return 0, err
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(s)), nil
}

func (d *decoder) value(depth int) (any, error) {
	tag, err := d.readByte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagNil:
		return nil, nil
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagString:
		return d.string()
	case tagInt:
		x, err := d.signed(strconvIntSize)
		return int(x), err
	case tagInt8:
		x, err := d.readByte()
		return int8(x), err
	case tagInt16:
		x, err := d.signed(16)
		return int16(x), err
	case tagInt32:
		x, err := d.signed(32)
		return int32(x), err
	case tagInt64:
		return d.varint()
	case tagUint:
		x, err := d.unsigned(strconvIntSize)
		return uint(x), err
	case tagUint8:
		return d.readByte()
	case tagUint16:
		x, err := d.unsigned(16)
		return uint16(x), err
	case tagUint32:
		x, err := d.unsigned(32)
		return uint32(x), err
	case tagUint64:
		return d.uvarint()
	case tagFloat32:
		s, err := d.take(4)
		if err != nil {
			return nil, err
		}
		return math.Float32frombits(binary.LittleEndian.Uint32(s)), nil
	case tagFloat64:
		return d.float64()
	case tagBytes:
		n, isNil, err := d.count(1)
		if err != nil || isNil {
			return []byte(nil), err
		}
		s := make([]byte, n)
		copy(s, d.b) // count checked the length
		d.b = d.b[n:]
		return s, nil
	case tagTime:
		return d.time()
	case tagDuration:
		x, err := d.varint()
		return time.Duration(x), err
	case tagStrings:
		return d.stringSlice()
	case tagInts:
		n, isNil, err := d.count(1)
		if err != nil || isNil {
			return []int(nil), err
		}
		s := make([]int, n)
		for i := range s {
			x, err := d.signed(strconvIntSize)
			if err != nil {
				return nil, err
			}
			s[i] = int(x)
		}
		return s, nil
	case tagInt64s:
		n, isNil, err := d.count(1)
		if err != nil || isNil {
			return []int64(nil), err
		}
		s := make([]int64, n)
		for i := range s {
			if s[i], err = d.varint(); err != nil {
				return nil, err
			}
		}
		return s, nil
	case tagFloat64s:
		n, isNil, err := d.count(8)
		if err != nil || isNil {
			return []float64(nil), err
		}
		s := make([]float64, n)
		for i := range s {
			s[i], _ = d.float64() // count checked the length
		}
		return s, nil
	case tagBools:
		n, isNil, err := d.count(1)
		if err != nil || isNil {
			return []bool(nil), err
		}
		s := make([]bool, n)
		for i := range s {
			x, _ := d.readByte() // count checked the length
			if x > 1 {
				return nil, corrupt("bool byte %d", x)
			}
			s[i] = x == 1
		}
		return s, nil
	case tagSlice:
		return d.slice(depth)
	case tagStringMap:
		return d.stringMap()
	case tagIntMap:
		return d.intMap()
	case tagMap:
		return d.anyMap(depth)
	case tagRegistered:
		return d.registered()
	}
	return nil, corrupt("unknown tag %d", tag)
}

const strconvIntSize = 32 << (^uint(0) >> 63)

// mapPresize bounds the room a decoded map is made with: a count read from
// the input may be honest about its entries yet have them repeat one key,
// so maps grow as entries are read beyond this.
const mapPresize = 8

// skip reads past one value as value does, checking its layout (tags,
// lengths, counts, varint ranges, nesting) without allocating. It does not
// check what only decoding can: repeated map keys and registered types.
// isContainer reports whether tag starts a value holding a count of
// elements: a slice or a map.
func isContainer(tag byte) bool {
	switch tag {
	case tagStrings, tagInts, tagInt64s, tagFloat64s, tagBools, tagSlice, tagStringMap, tagIntMap, tagMap:
		return true
	}
	return false
}

func (d *decoder) skip(depth int) error {
	tag, err := d.readByte()
	if err != nil {
		return err
	}
	switch tag {
	case tagNil, tagFalse, tagTrue:
		return nil
	case tagString:
		return d.skipString()
	case tagInt, tagUint:
		if tag == tagInt {
			_, err = d.signed(strconvIntSize)
		} else {
			_, err = d.unsigned(strconvIntSize)
		}
		return err
	case tagInt8, tagUint8:
		_, err = d.readByte()
		return err
	case tagInt16:
		_, err = d.signed(16)
		return err
	case tagInt32:
		_, err = d.signed(32)
		return err
	case tagInt64, tagDuration:
		_, err = d.varint()
		return err
	case tagUint16:
		_, err = d.unsigned(16)
		return err
	case tagUint32:
		_, err = d.unsigned(32)
		return err
	case tagUint64:
		_, err = d.uvarint()
		return err
	case tagFloat32:
		_, err = d.take(4)
		return err
	case tagFloat64:
		_, err = d.take(8)
		return err
	case tagBytes:
		n, _, err := d.count(1)
		if err != nil {
			return err
		}
		_, err = d.take(uint64(n))
		return err
	case tagTime:
		return d.skipTime()
	case tagStrings:
		return d.skipElems(1, func() error { return d.skipString() })
	case tagInts:
		return d.skipElems(1, func() error { _, err := d.signed(strconvIntSize); return err })
	case tagInt64s:
		return d.skipElems(1, func() error { _, err := d.varint(); return err })
	case tagFloat64s:
		n, _, err := d.count(8)
		if err != nil {
			return err
		}
		_, err = d.take(8 * uint64(n))
		return err
	case tagBools:
		return d.skipElems(1, func() error {
			x, _ := d.readByte() // count checked the length
			if x > 1 {
				return corrupt("bool byte %d", x)
			}
			return nil
		})
	case tagSlice:
		if depth >= maxDepth {
			return errTooDeep
		}
		return d.skipNested(1, func() error { return d.skip(depth + 1) })
	case tagStringMap:
		return d.skipElems(2, func() error {
			if err := d.skipString(); err != nil {
				return err
			}
			return d.skipString()
		})
	case tagIntMap:
		return d.skipElems(2, func() error {
			if err := d.skipString(); err != nil {
				return err
			}
			_, err := d.signed(strconvIntSize)
			return err
		})
	case tagMap:
		if depth >= maxDepth {
			return errTooDeep
		}
		return d.skipNested(2, func() error {
			if err := d.skipString(); err != nil {
				return err
			}
			return d.skip(depth + 1)
		})
	case tagRegistered:
		if err := d.skipString(); err != nil {
			return err
		}
		return d.skipString()
	}
	return corrupt("unknown tag %d", tag)
}

func (d *decoder) skipString() error {
	n, err := d.uvarint()
	if err != nil {
		return err
	}
	_, err = d.take(n)
	return err
}

func (d *decoder) skipTime() error {
	if _, err := d.varint(); err != nil {
		return err
	}
	ns, err := d.uvarint()
	if err != nil {
		return err
	}
	if ns>>1 >= 1e9 {
		return corrupt("time with %d nanoseconds", ns>>1)
	}
	if ns&1 == 0 {
		return nil
	}
	if _, err := d.signed(32); err != nil {
		return err
	}
	return d.skipString()
}

// skipElems reads a count of elements of at least size bytes and skips
// each with elem.
func (d *decoder) skipElems(size int, elem func() error) error {
	n, _, err := d.count(size)
	for i := 0; err == nil && i < n; i++ {
		err = elem()
	}
	return err
}

// skipNested is skipElems for elements that hold values, reserving the
// bytes the elements still to come need, as slice and anyMap do.
func (d *decoder) skipNested(size int, elem func() error) error {
	n, _, err := d.count(size)
	if err != nil {
		return err
	}
	d.reserved += size * n
	for i := 0; i < n; i++ {
		d.reserved -= size
		if err := elem(); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) time() (time.Time, error) {
	sec, err := d.varint()
	if err != nil {
		return time.Time{}, err
	}
	ns, err := d.uvarint()
	if err != nil {
		return time.Time{}, err
	}
	if ns>>1 >= 1e9 {
		return time.Time{}, corrupt("time with %d nanoseconds", ns>>1)
	}
	t := time.Unix(sec, int64(ns>>1))
	if ns&1 == 0 {
		return t.UTC(), nil
	}
	off, err := d.signed(32)
	if err != nil {
		return time.Time{}, err
	}
	name, err := d.string()
	if err != nil {
		return time.Time{}, err
	}
	local := t.In(time.Local)
	if n, o := local.Zone(); n == name && int64(o) == off {
		return local, nil
	}
	return t.In(time.FixedZone(name, int(off))), nil
}

func (d *decoder) stringSlice() (any, error) {
	n, isNil, err := d.count(1)
	if err != nil || isNil {
		return []string(nil), err
	}
	s := make([]string, n)
	for i := range s {
		if s[i], err = d.string(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (d *decoder) slice(depth int) (any, error) {
	if depth >= maxDepth {
		return nil, errTooDeep
	}
	n, isNil, err := d.count(1)
	if err != nil || isNil {
		return []any(nil), err
	}
	s := make([]any, n)
	d.reserved += n
	for i := range s {
		d.reserved--
		if s[i], err = d.value(depth + 1); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (d *decoder) stringMap() (any, error) {
	n, isNil, err := d.count(2)
	if err != nil || isNil {
		return map[string]string(nil), err
	}
	m := make(map[string]string, min(n, mapPresize))
	for i := 0; i < n; i++ {
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		if m[k], err = d.string(); err != nil {
			return nil, err
		}
	}
	if len(m) != n {
		return nil, corrupt("duplicate map key")
	}
	return m, nil
}

func (d *decoder) intMap() (any, error) {
	n, isNil, err := d.count(2)
	if err != nil || isNil {
		return map[string]int(nil), err
	}
	m := make(map[string]int, min(n, mapPresize))
	for i := 0; i < n; i++ {
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		x, err := d.signed(strconvIntSize)
		if err != nil {
			return nil, err
		}
		m[k] = int(x)
	}
	if len(m) != n {
		return nil, corrupt("duplicate map key")
	}
	return m, nil
}

func (d *decoder) anyMap(depth int) (any, error) {
	if depth >= maxDepth {
		return nil, errTooDeep
	}
	n, isNil, err := d.count(2)
	if err != nil || isNil {
		return map[string]any(nil), err
	}
	m := make(map[string]any, min(n, mapPresize))
	d.reserved += 2 * n
	for i := 0; i < n; i++ {
		d.reserved -= 2
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		if m[k], err = d.value(depth + 1); err != nil {
			return nil, err
		}
	}
	if len(m) != n {
		return nil, corrupt("duplicate map key")
	}
	return m, nil
}

func (d *decoder) registered() (any, error) {
	n, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	name, err := d.take(n)
	if err != nil {
		return nil, err
	}
	if n, err = d.uvarint(); err != nil {
		return nil, err
	}
	js, err := d.take(n)
	if err != nil {
		return nil, err
	}
	var rt *regType
	if d.reg != nil {
		rt = d.reg.byName[string(name)]
	}
	if rt == nil {
		return nil, fmt.Errorf("%w: value of type %q, not registered with this codec: %w", record.ErrCorrupt, name, ErrUnsupportedType)
	}
	v, err := rt.decode(js)
	if err != nil {
		return nil, fmt.Errorf("%w: registered type %s (%q): %w", record.ErrCorrupt, rt.typ, rt.name, err)
	}
	return v, nil
}
