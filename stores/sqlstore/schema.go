package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
)

// SchemaVersion is the version of the table layout this release creates
// and reads, kept in the 'schema_version' row of the meta table, so that a
// later release can migrate older tables and this one refuses newer ones.
//
// Version 1 is the session table; version 2 adds the user index (the
// table [Names.Users] and its index on session_key). A version 1 table is
// migrated in place when a store opens it, under the migration lock: the
// user index is created (empty: version 1 kept no bindings) and the
// version row updated.
const SchemaVersion = 2

// ErrSchemaVersion is returned (wrapped) by the constructors when the
// session table was created by a newer release, whose layout this release
// does not know.
var ErrSchemaVersion = errors.New("sqlstore: unsupported schema version")

// migrate creates the tables when they are missing and checks the schema
// version of existing ones, under the dialect's lock so that several
// processes opening a fresh database at once agree.
func (s *Store) migrate(ctx context.Context) error {
	return s.ex.Locked(ctx, s.cfg.Table, func(ex Executor) error {
		return s.migrateLocked(ctx, ex)
	})
}

func (s *Store) migrateLocked(ctx context.Context, conn Executor) error {
	q := &s.q
	if _, err := conn.Exec(ctx, q.CreateMeta); err != nil {
		return err
	}
	var version int64
	switch err := conn.QueryRow(ctx, q.ReadVersion, nil, &version); {
	case err == nil:
		switch {
		case version == SchemaVersion:
			// A table dropped by hand is recreated empty.
			return s.createTable(ctx, conn)
		case version > SchemaVersion:
			return fmt.Errorf("%w %d, newer than the %d this release knows: upgrade sessionkit", ErrSchemaVersion, version, SchemaVersion)
		case version == 1:
			// Version 2 adds the user index, which CreateTable creates.
			if err := s.createTable(ctx, conn); err != nil {
				return err
			}
			_, err := conn.Exec(ctx, q.UpdateVersion, int64(SchemaVersion))
			return err
		}
		return fmt.Errorf("%w %d", ErrSchemaVersion, version)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	// A table of that name without our meta row: adopt it only if it has
	// our columns, so that an application's own table is never mistaken
	// for ours.
	cols, err := columns(ctx, conn, q.Columns, s.cfg.Table)
	if err != nil {
		return err
	}
	if len(cols) > 0 {
		for _, c := range []string{"key", "data", "expiry"} {
			if !slices.Contains(cols, c) {
				return fmt.Errorf("exists and is not a session table (columns %v): choose another name with WithTable", cols)
			}
		}
	}
	if err := s.createTable(ctx, conn); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, q.WriteVersion, int64(SchemaVersion))
	return err
}

func (s *Store) createTable(ctx context.Context, conn Executor) error {
	for _, st := range s.q.CreateTable {
		if _, err := conn.Exec(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

func columns(ctx context.Context, conn Executor, query, table string) ([]string, error) {
	var cols []string
	err := conn.Query(ctx, query, []any{table}, func(scan func(...any) error) error {
		var c string
		if err := scan(&c); err != nil {
			return err
		}
		cols = append(cols, c)
		return nil
	})
	return cols, err
}
