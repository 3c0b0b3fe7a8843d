// Package leaks checks that opening and closing each sessionkit store
// leaves no goroutine behind.
package leaks
