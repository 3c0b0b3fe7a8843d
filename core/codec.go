package core

import "github.com/sessionkit/sessionkit/core/codec"

// Codec encodes and decodes session values. The manager encodes each value
// once, when the request that set it commits, and decodes each value when
// the session is loaded.
//
// Implementations must be safe for concurrent use and must never panic on
// hostile input to Decode.
type Codec interface {
	// Encode appends the encoding of v to dst. A value the codec cannot
	// encode is an error naming its type; dst is then unusable.
	Encode(dst []byte, v any) ([]byte, error)
	// Decode returns the value encoded in data. It never retains data.
	Decode(data []byte) (any, error)
}

var _ Codec = (*codec.Binary)(nil)
