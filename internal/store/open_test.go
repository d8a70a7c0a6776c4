package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/muster-app/muster/internal/store"
)

func TestOpenExisting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "data", "muster.db")

	t.Run("ErrNotExist", func(t *testing.T) {
		for _, url := range []string{path, "sqlite:" + path, "file:" + path} {
			db, err := store.OpenExisting(ctx, url)
			var ne *store.NotExistError
			if !errors.As(err, &ne) || ne.Path != path {
				if db != nil {
					db.Close()
				}
				t.Fatalf("%s: %v; want a NotExistError for %s", url, err, path)
			}
		}
		if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("OpenExisting created %s (%v)", filepath.Dir(path), err)
		}
	})
	t.Run("OK", func(t *testing.T) {
		db, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		db, err = store.OpenExisting(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	})
}

func TestSQLitePath(t *testing.T) {
	for url, want := range map[string]string{
		"":                 store.DefaultSQLitePath,
		"x.db":             "x.db",
		"sqlite:x.db":      "x.db",
		"sqlite:///a/x.db": "/a/x.db",
		"file:/a/x.db":     "/a/x.db",
	} {
		if got := store.SQLitePath(url); got != want {
			t.Errorf("SQLitePath(%q) = %q; want %q", url, got, want)
		}
	}
}
