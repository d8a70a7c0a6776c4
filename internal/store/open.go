// Package store opens the store a database URL names.
package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/muster-app/muster/internal/store/postgres"
	"github.com/muster-app/muster/internal/store/sqlite"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

// DefaultSQLitePath is where Muster keeps its data when no database is named.
const DefaultSQLitePath = "muster-data/muster.db"

// IsPostgres reports whether url selects PostgreSQL.
func IsPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// SQLitePath is the file a database URL that does not select PostgreSQL
// names: an optional "sqlite:" or "file:" prefix is dropped, and an empty
// path is DefaultSQLitePath.
func SQLitePath(url string) string {
	path := url
	for _, prefix := range []string{"sqlite://", "sqlite:", "file:"} {
		path = strings.TrimPrefix(path, prefix)
	}
	if path == "" {
		path = DefaultSQLitePath
	}
	return path
}

// Open opens and migrates the database: PostgreSQL for a postgres:// URL,
// otherwise a SQLite file at SQLitePath(url), created with its directory
// when it does not exist.
func Open(ctx context.Context, url string) (*sqlstore.DB, error) {
	if IsPostgres(url) {
		return postgres.Open(ctx, url)
	}
	return sqlite.Open(ctx, SQLitePath(url))
}

// NotExistError is OpenExisting's refusal of a SQLite file that does not
// exist.
type NotExistError struct {
	// Path is the file, as the URL named it.
	Path string
}

func (e *NotExistError) Error() string { return "there is no SQLite database at " + e.Path }

// OpenExisting is Open for commands that work on data a server or 'muster
// init' wrote: it returns a *NotExistError rather than create a SQLite file
// that does not exist (an empty database would only answer that nothing is
// there).
func OpenExisting(ctx context.Context, url string) (*sqlstore.DB, error) {
	if !IsPostgres(url) {
		path := SQLitePath(url)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, &NotExistError{Path: path}
		} else if err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	return Open(ctx, url)
}
