// Package gorm shows a GORM application keeping its sessions in its own
// SQLite database through sqlitestore.New. It lives here rather than in
// stores/sqlitestore so that the store's module does not require GORM.
package gorm
