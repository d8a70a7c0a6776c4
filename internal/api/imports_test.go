package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/importcsv"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// upload posts a file to /api/v1/imports as contentType ("multipart" for a
// form, in a new envelope each time: multipart.Writer draws a new boundary,
// as curl does at each try), with header's names and values, and checks
// the answer against the OpenAPI document.
func (e *env) upload(query, token, contentType string, file []byte, header ...string) *response {
	e.t.Helper()
	body := bytes.NewReader(file)
	if contentType == "multipart" {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, err := mw.CreateFormFile("file", "people.csv")
		if err != nil {
			e.t.Fatal(err)
		}
		fw.Write(file)
		mw.Close()
		body, contentType = bytes.NewReader(b.Bytes()), mw.FormDataContentType()
	}
	req, err := http.NewRequest("POST", e.srv.URL+"/api/v1/imports"+query, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	e.validate(req, res, b)
	return &response{method: "POST", path: "/api/v1/imports", status: res.StatusCode, header: res.Header, body: b}
}

type importAnswer struct {
	ID          int64
	Status      string
	RowsDone    int `json:"rows_done"`
	Committable bool
	Problem     *string
	Counts      struct{ Invite, Error int }
	Result      *struct{ Invited, Failed int }
	Rows        []struct {
		Row    int
		Action string
		Errors []struct{ Column, Message string }
	}
}

// TestImportAPI: the dry run of a file with an error, as text/csv; the
// error CSV; the fixed file as multipart; its commit, progress and result;
// all checked against the OpenAPI document.
func TestImportAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		bad := "Email,First Name,Last Name\r\nimp1@example.com,Imp,One\r\nnot-an-email,Imp,Two\r\n"
		var dry importAnswer
		e.upload("?dry_run=true", e.org.adminToken, "text/csv", []byte(bad)).want(t, http.StatusCreated).decode(t, &dry)
		if dry.Status != "planned" || dry.Committable || dry.Counts.Invite != 1 || dry.Counts.Error != 1 ||
			len(dry.Rows) != 2 || dry.Rows[1].Row != 3 || dry.Rows[1].Errors[0].Column != "Email" {
			t.Fatalf("dry run: %+v", dry)
		}
		res := e.do("POST", "/api/v1/imports/"+itoa(dry.ID)+"/commit", e.org.adminToken, nil).want(t, http.StatusUnprocessableEntity)
		if !strings.Contains(string(res.body), "1 row has errors") {
			t.Errorf("commit with errors: %s", res.body)
		}
		csv := e.do("GET", "/api/v1/imports/"+itoa(dry.ID)+"/errors.csv", e.org.adminToken, nil).want(t, http.StatusOK)
		if !strings.Contains(string(csv.body), "not-an-email,Imp,Two,Email: Enter an email address like name@example.com.") {
			t.Errorf("error CSV:\n%s", csv.body)
		}
		fixed := strings.Replace(string(csv.body), "not-an-email", "imp2@example.com", 1)
		var good importAnswer
		e.upload("?dry_run=true", e.org.adminToken, "multipart", []byte(fixed)).want(t, http.StatusCreated).decode(t, &good)
		if !good.Committable || good.Counts.Invite != 2 {
			t.Fatalf("fixed: %+v", good)
		}
		var committed importAnswer
		e.do("POST", "/api/v1/imports/"+itoa(good.ID)+"/commit", e.org.adminToken, nil).want(t, http.StatusAccepted).decode(t, &committed)
		if committed.Status != "queued" {
			t.Fatalf("committed: %+v", committed)
		}
		for {
			ran, err := e.svc.RunNextImport(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !ran {
				break
			}
		}
		var done importAnswer
		e.do("GET", "/api/v1/imports/"+itoa(good.ID), e.org.adminToken, nil).want(t, http.StatusOK).decode(t, &done)
		if done.Status != "done" || done.RowsDone != 2 || done.Result == nil || done.Result.Invited != 2 {
			t.Fatalf("done: %+v", done)
		}
		e.do("GET", "/api/v1/imports/"+itoa(good.ID)+"/failures", e.org.adminToken, nil).want(t, http.StatusOK)
		e.do("GET", "/api/v1/imports/template.csv", e.org.adminToken, nil).want(t, http.StatusOK)

		// A multipart file past importcsv.UploadInMemory, which waits on disk.
		var large strings.Builder
		large.WriteString("Email,First Name,Last Name\r\n")
		for i := 0; large.Len() <= importcsv.UploadInMemory; i++ {
			fmt.Fprintf(&large, "large%d@example.com,Large,Person%d\r\n", i, i)
		}
		var onDisk importAnswer
		e.upload("?dry_run=true", e.org.adminToken, "multipart", []byte(large.String())).want(t, http.StatusCreated).decode(t, &onDisk)
		if rows := strings.Count(large.String(), "\n") - 1; onDisk.Counts.Invite != rows || len(onDisk.Rows) != rows {
			t.Errorf("large multipart file: %d invites and %d rows, want %d", onDisk.Counts.Invite, len(onDisk.Rows), rows)
		}

		// Refusals: not a file, too large, a Manager's token.
		e.upload("?dry_run=true", e.org.adminToken, "application/json", []byte(`{}`)).want(t, http.StatusUnsupportedMediaType)
		big := "Email,First Name,Last Name\n" + strings.Repeat("x", importcsv.MaxBytes+10)
		if r := e.upload("?dry_run=true", e.org.adminToken, "text/csv", []byte(big)).want(t, http.StatusUnprocessableEntity); !strings.Contains(string(r.body), "larger than 20 MB") {
			t.Errorf("too large: %s", r.body)
		}
		// A file with an error, in one go: refused with the dry run's words,
		// its plan kept as a dry run where Location says.
		refused := e.upload("", e.org.ownerToken, "text/csv", []byte(bad)).want(t, http.StatusUnprocessableEntity)
		if !strings.Contains(string(refused.body), "1 row has errors") {
			t.Errorf("in one go with an error: %s", refused.body)
		}
		var kept importAnswer
		e.do("GET", refused.header.Get("Location"), e.org.ownerToken, nil).want(t, http.StatusOK).decode(t, &kept)
		if kept.Status != "planned" || kept.Committable || kept.Counts.Error != 1 {
			t.Fatalf("kept: %+v", kept)
		}
		// The Owner's commit in one go (dry_run=false).
		var once importAnswer
		e.upload("", e.org.ownerToken, "text/csv", []byte("Email,First Name,Last Name\nimp3@example.com,Imp,Three\n")).
			want(t, http.StatusAccepted).decode(t, &once)
		if once.Status != "queued" {
			t.Fatalf("in one go: %+v", once)
		}
	})
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
