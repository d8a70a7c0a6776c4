package api_test

import (
	"net/http"
	"testing"
)

// keyed uploads file as multipart/form-data under the Idempotency-Key key.
func (e *env) keyed(query, key, file string) *response {
	e.t.Helper()
	return e.upload(query, e.org.ownerToken, "multipart", []byte(file), "Idempotency-Key", key)
}

// TestImportUploadIdempotent: an upload repeated with its Idempotency-Key
// (its answer lost) gets the first one's import back, marked replayed,
// and is neither planned nor committed again: its invitations take their
// seats once. The key with another file is refused; a plan that could not
// be committed is refused again, the same way, with the same import.
func TestImportUploadIdempotent(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		seatsUsed := func() int {
			var license struct{ Used int }
			e.do("GET", "/api/v1/license", e.org.ownerToken, nil).want(t, 200).decode(t, &license)
			return license.Used
		}
		before := seatsUsed()
		file := "Email,First Name,Last Name\nimp1@example.com,Imp,One\nimp2@example.com,Imp,Two\n"
		var first, again struct{ ID int64 }
		e.keyed("", "upload-1", file).want(t, http.StatusAccepted).decode(t, &first)
		repeat := e.keyed("", "upload-1", file).want(t, http.StatusAccepted)
		repeat.decode(t, &again)
		if again.ID != first.ID || repeat.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("the repeat answered import %d (replayed %q); want import %d replayed", again.ID,
				repeat.header.Get("Idempotent-Replayed"), first.ID)
		}
		if used := seatsUsed(); used != before+2 {
			t.Fatalf("seats used went from %d to %d for one file of 2 invitations sent twice; want %d", before, used, before+2)
		}

		other := e.keyed("", "upload-1", file+"imp3@example.com,Imp,Three\n")
		if other.status != http.StatusUnprocessableEntity || other.problemCode(t) != "idempotency_key_reused" {
			t.Fatalf("the key with another file: %d %s; want 422 idempotency_key_reused", other.status, other.body)
		}
		if dry := e.keyed("?dry_run=true", "upload-1", file); dry.status != http.StatusUnprocessableEntity {
			t.Fatalf("the key with a dry run of the file: %d %s; want 422", dry.status, dry.body)
		}

		bad := "Email,First Name,Last Name\nnot-an-email,Bad,Row\n"
		refused := e.keyed("", "upload-2", bad)
		refusedAgain := e.keyed("", "upload-2", bad)
		for _, r := range []*response{refused, refusedAgain} {
			if r.status != http.StatusUnprocessableEntity || r.header.Get("Location") != refused.header.Get("Location") ||
				r.header.Get("Location") == "" {
				t.Fatalf("an uncommittable plan: %d at %q %s; want 422 at the first one's Location %q", r.status,
					r.header.Get("Location"), r.body, refused.header.Get("Location"))
			}
		}
		if refusedAgain.header.Get("Idempotent-Replayed") != "true" || string(refusedAgain.body) != string(refused.body) {
			t.Fatalf("the repeat of an uncommittable plan:\n%s\nwant, replayed, the first one's refusal:\n%s",
				refusedAgain.body, refused.body)
		}
	})
}
