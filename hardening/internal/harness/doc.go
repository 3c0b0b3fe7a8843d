// Package harness serves core/sessiontest's behaviour matrix through each
// framework adapter, for the hardening tests that run one case on several
// frameworks and servers at once. Each adapter module keeps its own copy of
// its harness in a _test.go file, since a published module's tests may not
// import this unpublished one.
package harness
