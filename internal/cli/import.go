package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/muster-app/muster/internal/api"
	"github.com/muster-app/muster/internal/config"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// runUsersImport is "muster users import": the dry run of a CSV file and,
// without --dry-run, its commit, applied here (or by a server that takes
// the job first) while the progress is shown.
func runUsersImport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("users import")
	org := fs.orgFlag()
	file := fs.string("file", "PATH", "the CSV file: the user list's columns (Email, First Name, Last Name; Role,\n"+
		"Primary Team and Secondary Teams optional), at most 100,000 rows and 20 MB")
	dryRun := fs.bool("dry-run", "only say what the import would do to each row; change nothing")
	createTeams := fs.bool("create-teams", "create the teams the file names that do not exist (otherwise their rows are errors)")
	asJSON := fs.bool("json", "print the plan (and the result) as JSON, as the API's /api/v1/imports answers")
	fs.config(config.FlagDB)
	if err := fs.parse(e, args, "users import --org ID|NAME --file users.csv [--dry-run] [--create-teams] [--json]",
		"Imports users from a CSV file, as the console's Import users does: a dry run first, which prints what\n"+
			"happens to every row (invite, reinvite, update, unchanged or error); then, unless --dry-run is given\n"+
			"or a row has an error, the commit, which invites, invites again and updates each row through the same\n"+
			"rules as the console, queuing the invitation emails for the server's mail sender. The exit status is\n"+
			"1 when any row has an error, or the import could not be committed."); err != nil {
		return err
	}
	if *file == "" {
		return usagef("--file is required: the CSV file to import")
	}
	f, err := os.Open(*file)
	if err != nil {
		return fmt.Errorf("reading the file: %w", err)
	}
	defer f.Close()
	svc, opCtx, done, err := fs.operator(ctx, e, *org)
	if err != nil {
		return err
	}
	defer done()
	plan, err := svc.PlanImport(opCtx, service.ImportInput{FileName: filepathBase(*file), File: f, CreateTeams: *createTeams,
		Commit: !*dryRun})
	if err != nil {
		return refusal("nothing was imported", err, nil)
	}
	if !*asJSON {
		if err := printPlan(e, plan); err != nil {
			return err
		}
	}
	if plan.Status == muster.ImportPlanned {
		if *asJSON {
			if err := printJSON(e, plan); err != nil {
				return err
			}
		}
		problem := plan.Committable()
		if plan.NotCommitted != nil {
			problem = muster.ErrorMessage(plan.NotCommitted)
		}
		if problem != "" {
			fmt.Fprintf(e.stderr, "muster users import: nothing was imported: %s\n", problem)
			return &reportedError{fmt.Errorf("%s", problem)}
		}
		return nil
	}
	final, err := waitForImport(ctx, e, svc, opCtx, plan.ID, !*asJSON)
	if err != nil {
		return err
	}
	if *asJSON {
		if final, err = svc.FindImport(opCtx, plan.ID, true); err != nil {
			return err
		}
		if err := printJSON(e, final); err != nil {
			return err
		}
	} else {
		r := final.Result
		fmt.Fprintf(e.stdout, "\nImport %d %s: %d invited, %d invited again, %d updated, %d unchanged, %d failed, %d teams created.\n",
			final.ID, final.Status, r.Invited, r.Reinvited, r.Updated, r.Unchanged, r.Failed, r.TeamsCreated)
	}
	failures, err := svc.FindImportFailures(opCtx, plan.ID)
	if err != nil {
		return err
	}
	for _, fl := range failures {
		fmt.Fprintf(e.stderr, "row %d (%s) failed: %s\n", fl.Line, fl.Email, fl.Reason)
	}
	if final.Status != muster.ImportDone || len(failures) > 0 {
		return &reportedError{fmt.Errorf("import %d: %d rows failed %s", final.ID, len(failures), final.LastError)}
	}
	return nil
}

// waitForImport runs the import job here until the import has ended, or
// waits for the instance that holds it.
func waitForImport(ctx context.Context, e *env, svc *service.Service, opCtx context.Context, id int64, progress bool) (*service.ImportPlan, error) {
	last := -1
	for {
		p, err := svc.FindImport(opCtx, id, false)
		if err != nil {
			return nil, err
		}
		if progress && p.RowsDone != last {
			fmt.Fprintf(e.stderr, "\rapplied %d of %d rows", p.RowsDone, p.RowsTotal)
			last = p.RowsDone
		}
		if p.Status == muster.ImportDone || p.Status == muster.ImportFailed {
			if progress {
				fmt.Fprintln(e.stderr)
			}
			return p, nil
		}
		ran, err := svc.RunNextImport(ctx)
		if err != nil {
			fmt.Fprintf(e.stderr, "\nmuster users import: %v (trying again)\n", err)
		}
		if !ran {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Second):
			}
		}
	}
}

// printJSON prints the import as the API shows it, with its rows.
func printJSON(e *env, p *service.ImportPlan) error {
	out, err := api.ImportJSON(p)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// printPlan prints the dry run as a table, then its summary.
func printPlan(e *env, p *service.ImportPlan) error {
	tw := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ROW\tACTION\tEMAIL\tDETAILS")
	err := p.EachRow(func(r *service.ImportRow) error {
		details := strings.Join(r.Changes, "; ")
		if r.Action == service.ImportError {
			details = r.ErrorText()
		}
		_, err := fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", r.Line, r.Action, oneLine(r.Email), oneLine(details))
		return err
	})
	if err != nil {
		return err
	}
	tw.Flush()
	s := p.Summary
	fmt.Fprintf(e.stdout, "\n%d rows: %d invite, %d reinvite, %d update, %d unchanged, %d error.\n", p.RowsTotal,
		s.Counts.Invite, s.Counts.Reinvite, s.Counts.Update, s.Counts.Unchanged, s.Counts.Error)
	fmt.Fprintf(e.stdout, "Seats: %d needed, %d free (%d of %d in use).\n", s.SeatsNeeded, s.SeatsFree, s.SeatsUsed, s.LicenseTotal)
	if len(s.MissingTeams) > 0 {
		what := "rows naming them are errors; --create-teams creates them on commit"
		if p.CreateTeams {
			what = "created on commit"
		}
		fmt.Fprintf(e.stdout, "Teams that do not exist (%s): %s.\n", what, strings.Join(s.MissingTeams, ", "))
	}
	for _, n := range s.Notes {
		fmt.Fprintf(e.stdout, "Note: %s\n", n)
	}
	return nil
}

// oneLine keeps a cell from breaking the table or the terminal: line
// breaks, tabs and every other control character (an escape sequence would
// recolour or rewrite the operator's screen) become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

func filepathBase(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}
