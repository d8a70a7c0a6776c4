package service

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/muster-app/muster/internal/muster"
)

// IdempotencyTTL is how long the outcome of a change made under an
// idempotency key is given back to repeats (API-3).
const IdempotencyTTL = 24 * time.Hour

// Idempotency is the idempotency key a request was sent with (the API's
// Idempotency-Key). A change made under it is made once: its outcome is
// stored in the change's own transaction, and a repeat of the request gets
// that outcome back without the change being made again. A request
// refused, or cut short by a crash, leaves nothing, and its repeat runs.
type Idempotency struct {
	Key string
	// RequestHash identifies the request; the key with another request is
	// refused.
	RequestHash []byte
	// Replayed is set when the outcome returned is that of an earlier
	// request with the key.
	Replayed bool
}

type idempotencyKey struct{}

// idempotencyOf is the idempotency key ctx's change is made under, or nil.
func idempotencyOf(ctx context.Context) *Idempotency {
	idem, _ := ctx.Value(idempotencyKey{}).(*Idempotency)
	return idem
}

// addUpload adds an upload to the request the key identifies: its
// parameters as the service reads them, and the file, read from start and
// left there. The API hashed the route, not the body, which for a file is a
// multipart envelope whose boundary a client draws anew at each try.
func (idem *Idempotency) addUpload(params string, file io.ReadSeeker, start int64) error {
	h := sha256.New()
	h.Write(idem.RequestHash)
	fmt.Fprintf(h, "\n%s\n", params)
	if _, err := io.Copy(h, file); err != nil {
		return err
	}
	if _, err := file.Seek(start, io.SeekStart); err != nil {
		return err
	}
	idem.RequestHash = h.Sum(nil)
	return nil
}

// replayed reports whether ctx's idempotency key has an outcome already,
// decoded into out: for a change that does much work before it claims the
// key (an upload's dry run), so that a repeat skips it.
func (s *Service) replayed(ctx context.Context, out any) (bool, error) {
	idem := idempotencyOf(ctx)
	rec, err := idempotencyRecord(ctx, idem)
	if err != nil {
		return false, err
	}
	return s.replay(ctx, idem, rec, out)
}

// WithIdempotency returns a context whose change is made under idem.
func WithIdempotency(ctx context.Context, idem *Idempotency) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, idem)
}

// errKeyClaimed ends a transaction that found its key claimed by another
// request, which has since committed.
var errKeyClaimed = errors.New("service: idempotency key claimed by another request")

// change runs fn, which makes a change and sets *out to its result, in a
// write transaction. Under an idempotency key (WithIdempotency) it runs fn
// at most once per key: the transaction claims the key first, so that a
// concurrent request with the key waits for it, and stores *out as the
// key's outcome before it commits; a later request with the key gets the
// outcome back in *out instead. The service methods of the API's POST
// routes make their changes through change.
func change[T any](ctx context.Context, s *Service, out *T, fn func(*txn) error) error {
	idem := idempotencyOf(ctx)
	if idem == nil {
		return s.update(ctx, fn)
	}
	rec, err := idempotencyRecord(ctx, idem)
	if err != nil {
		return err
	}
	// A key found claimed belongs to a request whose transaction has ended
	// (PostgreSQL waits for it) or, on SQLite, is about to commit with
	// others: its outcome is replayed once committed, or the key claimed
	// again if it rolled back.
	wait := time.Millisecond
	for deadline := time.Now().Add(claimWait); ; {
		if replayed, err := s.replay(ctx, idem, rec, out); replayed || err != nil {
			return err
		}
		err := s.update(ctx, func(tx *txn) error {
			rec.CreatedAt = tx.now
			if claimed, err := tx.ClaimIdempotencyKey(ctx, rec, tx.now.Add(-IdempotencyTTL)); err != nil {
				return err
			} else if !claimed {
				return errKeyClaimed
			}
			if err := fn(tx); err != nil {
				return err
			}
			var err error
			if rec.Outcome, err = json.Marshal(out); err != nil {
				return err
			}
			return tx.CompleteIdempotencyKey(ctx, rec)
		})
		if !errors.Is(err, errKeyClaimed) {
			return err
		}
		if time.Now().After(deadline) {
			return muster.Errorf(muster.ECONFLICT, "Another request with this Idempotency-Key is still being handled. Try again.")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// claimWait bounds how long a request waits for another with the same
// idempotency key: that one's transaction, not its whole request.
const claimWait = 5 * time.Second

// idempotencyRecord checks idem's key and returns its record, for the
// principal of ctx.
func idempotencyRecord(ctx context.Context, idem *Idempotency) (*muster.IdempotencyRecord, error) {
	p, ok := muster.PrincipalFrom(ctx)
	if !ok || p.UserID == 0 {
		return nil, muster.Errorf(muster.EUNAUTHORIZED, "Idempotency keys belong to a signed-in user or an API token.")
	}
	if idem.Key == "" || len(idem.Key) > 255 || !utf8.ValidString(idem.Key) {
		return nil, muster.Errorf(muster.EINVALID, "The Idempotency-Key must be 1 to 255 characters.")
	}
	return &muster.IdempotencyRecord{OrgID: p.OrgID, UserID: p.UserID, Key: idem.Key, RequestHash: idem.RequestHash}, nil
}

// replay decodes the committed outcome of rec's key into out and reports
// whether there was one; the key used with another request is refused.
func (s *Service) replay(ctx context.Context, idem *Idempotency, rec *muster.IdempotencyRecord, out any) (bool, error) {
	var found *muster.IdempotencyRecord
	err := s.view(ctx, func(tx *txn) error {
		var err error
		found, err = tx.FindIdempotencyRecord(ctx, rec.OrgID, rec.UserID, rec.Key, tx.now.Add(-IdempotencyTTL))
		return err
	})
	switch {
	case muster.ErrorCode(err) == muster.ENOTFOUND:
		return false, nil
	case err != nil:
		return false, err
	case string(found.RequestHash) != string(rec.RequestHash):
		return false, &muster.Error{Code: muster.EINVALID, Reason: muster.ReasonIdempotencyKeyReused,
			Message: "This Idempotency-Key was used with a different request. Use a new key for a new request."}
	}
	if err := json.Unmarshal(found.Outcome, out); err != nil {
		return false, err
	}
	idem.Replayed = true
	return true, nil
}
