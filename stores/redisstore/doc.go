// Package redisstore is a sessionkit store.
package redisstore
