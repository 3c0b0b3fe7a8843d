// Package memcachestore is a sessionkit store.
package memcachestore
