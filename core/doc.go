// Package core holds sessionkit's framework-agnostic session machinery: the
// [Store] contract and its optional capabilities, the record format, the
// value codec, the memory, file and cached stores, the [Manager] and
// [Session], and the net/http middleware.
package core
