// Package sqlitestore is a sessionkit store.
package sqlitestore
