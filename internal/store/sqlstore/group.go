package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/muster-app/muster/internal/muster"
)

// maxGroup bounds how many write transactions share one commit, so that a
// steady stream of writes still commits often.
const maxGroup = 64

// errClosed answers a write asked of a closed store.
var errClosed = errors.New("store: closed")

// groupCommit runs write transactions one at a time on the writer
// connection, as SQLite does anyway, but lets those that arrive while one
// runs join its database transaction instead of waiting for the commit:
// each after the first runs in a savepoint of its own, rolled back alone if
// it fails, and the group commits once. A commit (writing the changed pages to the WAL)
// costs most of a small write transaction, and consecutive writes change
// mostly the same pages, so a group of n costs far less than n commits.
//
// Each write still sees every earlier write, as if run alone one after
// another, and nobody hears of success before the group has committed.
type groupCommit struct {
	db    *DB
	queue chan *groupedWrite // unbuffered: a send is taken by the runner
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	writes, commits atomic.Int64 // committed writes, and the commits they took
}

// groupedWrite is one caller's write transaction, waiting to run.
type groupedWrite struct {
	ctx      context.Context
	fn       func(muster.Tx) error
	err      error
	panicked any
	result   chan struct{}
}

func startGroupCommit(db *DB) *groupCommit {
	g := &groupCommit{db: db, queue: make(chan *groupedWrite), stop: make(chan struct{}), done: make(chan struct{})}
	go g.run()
	return g
}

// update runs fn in the next group and returns when the group has
// committed (or fn failed).
func (g *groupCommit) update(ctx context.Context, fn func(muster.Tx) error) error {
	w := &groupedWrite{ctx: ctx, fn: fn, result: make(chan struct{})}
	select {
	case g.queue <- w:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.stop:
		return errClosed
	}
	// Once taken, the write may already be part of a group: its outcome
	// is known only when the group ends, so wait for it even if ctx ends.
	<-w.result
	if w.panicked != nil {
		panic(w.panicked)
	}
	return w.err
}

// CommitStats reports how many write transactions have committed and in
// how many database commits they took; both are 0 when the dialect does
// not group commits (PostgreSQL).
func (db *DB) CommitStats() (writes, commits int64) {
	if db.group == nil {
		return 0, 0
	}
	return db.group.writes.Load(), db.group.commits.Load()
}

// close stops taking writes once the running group has finished.
func (g *groupCommit) close() {
	if g == nil {
		return
	}
	g.once.Do(func() { close(g.stop) })
	<-g.done
}

func (g *groupCommit) run() {
	defer close(g.done)
	for {
		select {
		case w := <-g.queue:
			g.runGroup(w)
		case <-g.stop:
			return
		}
	}
}

// runGroup runs first and every write that is waiting by the time it ends,
// and so on, up to maxGroup, in one transaction, then commits.
func (g *groupCommit) runGroup(first *groupedWrite) {
	// The transaction is not the first caller's: its context ending must
	// not roll back the others' writes.
	sqlTx, err := g.db.write.BeginTx(context.Background(), nil)
	if err != nil {
		first.finish(fmt.Errorf("store: begin: %w", err))
		return
	}
	defer sqlTx.Rollback() //nolint:errcheck // a no-op after Commit
	tx := &Tx{conn: sqlTx, tx: sqlTx, stmts: g.db.writeStmts, dialect: &g.db.dialect, writes: true}

	var ran []*groupedWrite // the writes that succeeded, to hear of the commit
	taken := 0
	for w := first; w != nil; w = g.waiting(taken) {
		taken++
		if err := w.ctx.Err(); err != nil {
			w.finish(err)
			continue
		}
		// A write with nothing of the group's before it runs in the
		// transaction itself, which it has to itself: failed, the
		// transaction is rolled back, and the group ends there. A
		// savepoint would cost SQLite a copy of every page the write
		// changes (an import's batch: a tenth of its time).
		alone := len(ran) == 0
		if err := g.runOne(tx, w, !alone); err != nil {
			// The transaction itself failed: nothing in it will commit.
			w.finish(err)
			for _, w := range ran {
				w.finish(err)
			}
			return
		}
		if w.err != nil || w.panicked != nil {
			if alone {
				w.finish(sqlTx.Rollback())
				return
			}
			close(w.result)
			continue
		}
		ran = append(ran, w)
	}
	if len(ran) == 0 {
		return
	}
	if err := sqlTx.Commit(); err != nil {
		err = g.db.mapError(fmt.Errorf("store: commit: %w", err))
		for _, w := range ran {
			w.finish(err)
		}
		return
	}
	g.commits.Add(1)
	g.writes.Add(int64(len(ran)))
	for _, w := range ran {
		close(w.result)
	}
}

// waiting returns a write that is waiting to run, if any, unless the group
// has taken enough.
func (g *groupCommit) waiting(taken int) *groupedWrite {
	if taken >= maxGroup {
		return nil
	}
	select {
	case w := <-g.queue:
		return w
	default:
		return nil
	}
}

// runOne runs w.fn in tx, in a savepoint of its own if savepoint is set,
// recording its outcome in w. It returns an error only when the savepoint
// could not be set or undone, which leaves the whole transaction unusable.
func (g *groupCommit) runOne(tx *Tx, w *groupedWrite, savepoint bool) error {
	// The write's statements run detached from its context: interrupting
	// one of them would roll back the whole transaction.
	tx.detached = context.WithoutCancel(w.ctx)
	defer func() { tx.detached = nil }()
	if !savepoint {
		w.run(tx)
		return nil
	}
	if _, err := tx.exec(tx.detached, `SAVEPOINT write`); err != nil {
		return err
	}
	w.run(tx)
	if w.err != nil || w.panicked != nil {
		if _, err := tx.exec(tx.detached, `ROLLBACK TO write`); err != nil {
			return err
		}
	}
	_, err := tx.exec(tx.detached, `RELEASE write`)
	return err
}

// run runs w.fn in tx, recording its error or panic in w.
func (w *groupedWrite) run(tx *Tx) {
	defer func() {
		if p := recover(); p != nil {
			w.panicked = p
		}
	}()
	w.err = w.fn(tx)
}

// finish ends w with err.
func (w *groupedWrite) finish(err error) {
	if w.err == nil && w.panicked == nil {
		w.err = err
	}
	close(w.result)
}
