package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/config"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

// subcommand splits "muster users export …" into the verb and its args.
func subcommand(args []string, verbs ...string) (string, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, usagef("say what to do: %s", strings.Join(verbs, " or "))
	}
	for _, v := range verbs {
		if args[0] == v {
			return v, args[1:], nil
		}
	}
	return "", nil, usagef("unknown action %q; want %s", args[0], strings.Join(verbs, " or "))
}

// orgFlag adds the --org flag of the operator commands.
func (fs *flagSet) orgFlag() *string {
	return fs.string("org", "ID|NAME", "the organization's id (init prints it, the console shows it on Settings →\n"+
		"Organization) or its name, in any case; a number is always an id")
}

// operator reads the configuration, opens the database, which must exist,
// finds the organization that --org names and returns the service and a
// context in which an operator acts on that organization.
func (fs *flagSet) operator(ctx context.Context, e *env, org string) (*service.Service, context.Context, func(), error) {
	id, name, err := parseOrg(org)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, err := fs.load(e)
	if err != nil {
		return nil, nil, nil, err
	}
	db, err := store.OpenExisting(ctx, cfg.DatabaseURL)
	if err != nil {
		var ne *store.NotExistError
		if errors.As(err, &ne) {
			return nil, nil, nil, noDatabase(cfg)
		}
		return nil, nil, nil, fmt.Errorf("opening the database %s: %w", describeDatabase(cfg), err)
	}
	if id, err = findOrg(ctx, db, cfg, id, name); err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	svc := service.New(db, serviceConfig(cfg))
	return svc, muster.NewContext(ctx, muster.Principal{OrgID: id, Origin: "cli"}), func() { db.Close() }, nil
}

// parseOrg reads --org: a number is an organization's id, anything else its
// name.
func parseOrg(s string) (id int64, name string, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, "", usagef("--org: name the organization by its id (muster init printed it) or its name")
	}
	if id, err := strconv.ParseInt(s, 10, 64); err == nil {
		if id <= 0 {
			return 0, "", usagef("--org: %d is not an organization's id", id)
		}
		return id, "", nil
	}
	return 0, s, nil
}

// findOrg returns the id of the organization that --org names, or says
// which database lacks it.
func findOrg(ctx context.Context, db *sqlstore.DB, cfg *config.Config, id int64, name string) (int64, error) {
	var orgs int
	err := db.View(ctx, func(tx muster.Tx) error {
		var o *muster.Org
		var err error
		if name != "" {
			o, err = tx.FindOrgByName(ctx, name)
		} else {
			o, err = tx.FindOrg(ctx, id)
		}
		if muster.ErrorCode(err) == muster.ENOTFOUND {
			orgs, _ = tx.CountOrgs(ctx)
		} else if err == nil {
			id = o.ID
		}
		return err
	})
	switch muster.ErrorCode(err) {
	case "":
		return id, nil
	case muster.ECONFLICT:
		return 0, fmt.Errorf("--org: %s Give --org the id of the one you mean.", muster.ErrorMessage(err))
	case muster.ENOTFOUND:
		what := fmt.Sprintf("no organization with id %d", id)
		if name != "" {
			what = fmt.Sprintf("no organization named %q", name)
		}
		hint := "muster init printed the organization's id, and the console shows it on Settings → Organization."
		if orgs == 0 {
			hint = "It has no organization at all: is it the database 'muster serve' uses?"
		}
		return 0, fmt.Errorf("there is %s in the database %s.\n%s", what, describeDatabase(cfg), hint)
	}
	return 0, fmt.Errorf("finding the organization in the database %s: %w", describeDatabase(cfg), err)
}

// describeDatabase names the database the configuration selects and where
// that came from: a PostgreSQL URL without its password, or a SQLite file's
// absolute path.
func describeDatabase(cfg *config.Config) string {
	where := cfg.RedactedDatabaseURL()
	if !store.IsPostgres(cfg.DatabaseURL) {
		where = store.SQLitePath(cfg.DatabaseURL)
		if abs, err := filepath.Abs(where); err == nil {
			where = abs
		}
	}
	switch cfg.DatabaseURLFrom {
	case "default":
		return fmt.Sprintf("%s (the default, %s in the current directory)", where, store.DefaultSQLitePath)
	case "":
		return where
	}
	return fmt.Sprintf("%s (from %s)", where, cfg.DatabaseURLFrom)
}

// noDatabase explains that the SQLite file the operator's command names does
// not exist, which usually means the command ran in another directory than
// 'muster serve'.
func noDatabase(cfg *config.Config) error {
	var advice string
	switch cfg.DatabaseURLFrom {
	case "default":
		advice = "Run the command in the directory where you ran 'muster serve' or 'muster init', or give the\n" +
			"database's path with --db (or MUSTER_DATABASE_URL)."
	case "MUSTER_DATABASE_URL":
		advice = "Check MUSTER_DATABASE_URL, or give the path of the database 'muster serve' uses with --db."
	default:
		advice = "Check the path: give --db the database 'muster serve' or 'muster init' uses."
	}
	return fmt.Errorf("there is no database at %s.\n%s Only init, migrate and serve create a database.",
		describeDatabase(cfg), advice)
}

func runUsers(ctx context.Context, e *env, args []string) error {
	verb, args, err := subcommand(args, "export", "import")
	if err != nil {
		return err
	}
	if verb == "import" {
		return runUsersImport(ctx, e, args)
	}
	fs := newFlagSet("users " + verb)
	org := fs.orgFlag()
	fs.config(config.FlagDB)
	if err := fs.parse(e, args, "users export --org ID|NAME > users.csv",
		"Writes the organization's user list as CSV to standard output: the same columns as the console's\n"+
			"download, every status but withdrawn invitations, streamed in batches."); err != nil {
		return err
	}
	svc, opCtx, done, err := fs.operator(ctx, e, *org)
	if err != nil {
		return err
	}
	defer done()
	w := bufio.NewWriterSize(e.stdout, 64<<10)
	if err := svc.ExportUsers(opCtx, w, nil); err != nil {
		return refusal("the user list was not written", err, nil)
	}
	return w.Flush()
}

func runToken(ctx context.Context, e *env, args []string) error {
	verb, args, err := subcommand(args, "create")
	if err != nil {
		return err
	}
	fs := newFlagSet("token " + verb)
	org := fs.string("org", "ID", "the organization's id")
	user := fs.string("user", "EMAIL", "the Active Owner or Admin the token acts as")
	name := fs.string("name", "NAME", "what the token is for, e.g. \"HR sync\"")
	expires := fs.string("expires", "DURATION", "lifetime, like 720h; unset for a token that does not expire")
	fs.config(config.FlagDB)
	if err := fs.parse(e, args, "token create --org ID --user EMAIL --name NAME [--expires DURATION]",
		"Creates an API token that acts as the given Owner or Admin, with their role as it is at each call,\n"+
			"and prints it once. Muster keeps only its hash."); err != nil {
		return err
	}
	var expiresAt time.Time
	if *expires != "" {
		d, err := time.ParseDuration(*expires)
		if err != nil || d <= 0 {
			return usagef("--expires: %q is not a positive duration like 720h", *expires)
		}
		expiresAt = time.Now().Add(d)
	}
	svc, opCtx, done, err := fs.operator(ctx, e, *org)
	if err != nil {
		return err
	}
	defer done()
	tok, err := svc.CreateAPITokenFor(opCtx, strings.TrimSpace(*user), *name, expiresAt)
	if err != nil {
		return refusal("no token was created", err, map[string]string{muster.FieldEmail: "--user",
			muster.FieldName: "--name", muster.FieldExpiresAt: "--expires"})
	}
	fmt.Fprintln(e.stdout, tok.Secret)
	return nil
}

func runOrg(ctx context.Context, e *env, args []string) error {
	verb, args, err := subcommand(args, "update", "transfer")
	if err != nil {
		return err
	}
	if verb == "transfer" {
		return runOrgTransfer(ctx, e, args)
	}
	return runOrgUpdate(ctx, e, args)
}

func runOrgUpdate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("org update")
	org := fs.orgFlag()
	eas := fs.string("email-at-scale", "true|false", "turn Email at Scale (Send As Permissions) on or off")
	licenses := fs.string("licenses", "N", "the new license total")
	fs.config(config.FlagDB)
	if err := fs.parse(e, args, "org update --org ID|NAME [--email-at-scale true|false] [--licenses N]",
		"Changes an organization's settings as its Owner could."); err != nil {
		return err
	}
	if *eas == "" && *licenses == "" {
		return usagef("say what to change: --email-at-scale or --licenses")
	}
	var change service.OrgChange
	if *eas != "" {
		on, err := strconv.ParseBool(*eas)
		if err != nil {
			return usagef("--email-at-scale: want true or false, not %q", *eas)
		}
		change.EmailAtScale = &on
	}
	if *licenses != "" {
		total, err := strconv.Atoi(strings.TrimSpace(*licenses))
		if err != nil {
			return usagef("--licenses: %q is not a whole number", *licenses)
		}
		change.LicenseTotal = &total
	}
	svc, opCtx, done, err := fs.operator(ctx, e, *org)
	if err != nil {
		return err
	}
	defer done()
	o, err := svc.UpdateOrg(opCtx, change)
	if err != nil {
		return refusal("nothing was changed", err, map[string]string{muster.FieldLicenseTotal: "--licenses"})
	}
	fmt.Fprintf(e.stdout, "%s (id %d): %d of %d licenses in use; Email at Scale %s.\n", o.Name, o.ID, o.SeatsUsed,
		o.LicenseTotal, map[bool]string{true: "on", false: "off"}[o.EmailAtScale])
	return nil
}

const orgTransferDescription = `
Makes an Active Admin of the organization its Owner, and the Owner an Admin.
Each sees their new role on their next request. The change is in the audit
log.
`

func runOrgTransfer(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("org transfer")
	org := fs.orgFlag()
	to := fs.string("to", "EMAIL", "the Active Admin who becomes the Owner")
	fs.config(config.FlagDB)
	if err := fs.parse(e, args, "org transfer --org ID|NAME --to EMAIL", orgTransferDescription); err != nil {
		return err
	}
	if strings.TrimSpace(*to) == "" {
		return usagef("--to: give the email of the Active Admin who becomes the Owner")
	}
	svc, opCtx, done, err := fs.operator(ctx, e, *org)
	if err != nil {
		return err
	}
	defer done()
	const refused = "ownership was not transferred"
	next, err := svc.FindUserByEmail(opCtx, *to)
	if muster.ErrorCode(err) == muster.ENOTFOUND {
		return fmt.Errorf("%s: the organization has no user with the email %q.", refused, strings.TrimSpace(*to))
	} else if err != nil {
		return refusal(refused, err, nil)
	}
	moved, err := svc.TransferOwnership(opCtx, next.ID, "")
	if err != nil {
		return refusal(refused, err, nil)
	}
	fmt.Fprintf(e.stdout, "Ownership of %s (id %d) moved from %s <%s> to %s <%s>; %s is now an Admin.\n",
		moved.Org.Name, moved.Org.ID, moved.From.Name(), moved.From.Email, moved.To.Name(), moved.To.Email,
		moved.From.Name())
	return nil
}
