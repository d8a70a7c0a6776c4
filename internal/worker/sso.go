package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/muster-app/muster/internal/service"
)

// SSOChecker looks up, every Every, the TXT records of verified domains
// due for it (service.RecheckSSODomains: each once a day, whichever
// instance claims it) and deletes sign-ins through identity providers that
// were never finished (AUTH-6).
type SSOChecker struct {
	Service *service.Service
	Log     *slog.Logger
	Every   time.Duration
}

// Run checks until ctx ends, first at once.
func (c *SSOChecker) Run(ctx context.Context) {
	every(ctx, c.Every, func() { c.Round(ctx) })
}

// Round checks the domains due and sweeps the logins once.
func (c *SSOChecker) Round(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := c.Service.RecheckSSODomains(ctx)
		if err != nil {
			if ctx.Err() == nil {
				c.Log.Error("sso: re-checking domains failed", "err", err)
			}
			break
		}
		if n.Checked > 0 {
			c.Log.Info("sso: re-checked domains", "checked", n.Checked, "unverified", n.Unverified, "failed", n.Failed)
		}
		if n.Checked == 0 {
			break
		}
	}
	if n, err := c.Service.DeleteExpiredSSOLogins(ctx); err != nil && ctx.Err() == nil {
		c.Log.Error("sso: deleting expired sign-ins failed", "err", err)
	} else if n > 0 {
		c.Log.Info("sso: deleted expired sign-ins", "logins", n)
	}
}
