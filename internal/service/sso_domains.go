package service

import (
	"context"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/sso"
)

// Verified email domains (AUTH-6): an organization claims a domain, proves
// it with a DNS TXT record muster-verification=<token> at the domain, and
// keeps it while the record stays (RecheckSSODomains). A verified domain
// routes its people's sign-in to the organization's identity provider and
// lets a first SSO sign-in link to the user with the same email. One
// organization at most verifies a domain.

// DomainRecheckEvery is how often a verified domain's record is looked up
// again.
const DomainRecheckEvery = 24 * time.Hour

// dnsTimeout bounds one verification lookup.
const dnsTimeout = 5 * time.Second

// AddSSODomain claims a domain for the organization (Owner or Admin) and
// returns it with the TXT record to publish.
func (s *Service) AddSSODomain(ctx context.Context, domain string) (*muster.SSODomain, error) {
	domain = muster.NormalizeDomain(domain)
	var v muster.Validation
	muster.CheckDomain(&v, domain)
	var out *muster.SSODomain
	err := s.update(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if err := v.Err(); err != nil {
			return err
		}
		token, _ := secret.NewToken()
		out = &muster.SSODomain{OrgID: a.orgID, Domain: domain, Token: token, CreatedAt: tx.now}
		if err := tx.CreateSSODomain(ctx, out); muster.ErrorCode(err) == muster.ECONFLICT {
			return muster.FieldErrorf(muster.ECONFLICT, muster.FieldDomain, "%s is already on the list.", domain)
		} else if err != nil {
			return err
		}
		return tx.audit(ctx, a, muster.ActionSSODomainAdded, muster.TargetSSODomain, out.ID, domain, nil,
			map[string]any{"record": out.TXTRecord()})
	})
	return out, err
}

// VerifySSODomain looks up the domain's TXT record and, when it holds the
// domain's token, marks the domain verified (Owner or Admin). A domain
// another organization verified is refused; so is a missing or wrong
// record, which the audit log records too.
func (s *Service) VerifySSODomain(ctx context.Context, id int64) (*muster.SSODomain, error) {
	d, err := readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*muster.SSODomain, error) {
		return tx.FindSSODomain(ctx, a.orgID, id)
	})
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, dnsTimeout)
	found, lookupErr := sso.LookupVerification(lctx, s.cfg.Resolver, d.Domain, d.TXTRecord())
	cancel()
	var refusal error
	err = s.update(ctx, func(tx *txn) error {
		refusal = nil
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if d, err = tx.FindSSODomain(ctx, a.orgID, id); err != nil {
			return err
		}
		reason := ""
		switch {
		case lookupErr != nil:
			reason = "lookup_failed"
			refusal = muster.Errorf(muster.ECONFLICT, "Looking up %s's TXT records failed: the DNS server did not "+
				"answer. Try again in a few minutes.", d.Domain)
		case !found:
			reason = "record_missing"
			refusal = muster.Errorf(muster.ECONFLICT, "%s has no TXT record %s yet. DNS changes can take a while "+
				"to be seen; try again later.", d.Domain, d.TXTRecord())
		default:
			other, err := tx.FindVerifiedSSODomain(ctx, d.Domain)
			if err != nil && muster.ErrorCode(err) != muster.ENOTFOUND {
				return err
			}
			if other != nil && other.OrgID != a.orgID {
				reason = "verified_by_another_organization"
				refusal = muster.Errorf(muster.ECONFLICT, "Another organization has verified %s. A domain "+
					"belongs to one organization.", d.Domain)
			}
		}
		if refusal != nil {
			return tx.audit(ctx, a, muster.ActionSSODomainFailed, muster.TargetSSODomain, d.ID, d.Domain, nil,
				map[string]any{"reason": reason})
		}
		if d.Verified() {
			return nil
		}
		d.VerifiedAt, d.LastCheckedAt = tx.now, tx.now
		if err := tx.UpdateSSODomain(ctx, d); muster.ErrorCode(err) == muster.ECONFLICT {
			return muster.Errorf(muster.ECONFLICT, "Another organization verified %s a moment ago. A domain "+
				"belongs to one organization.", d.Domain)
		} else if err != nil {
			return err
		}
		return tx.audit(ctx, a, muster.ActionSSODomainVerified, muster.TargetSSODomain, d.ID, d.Domain, nil, nil)
	})
	if err == nil {
		err = refusal
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// RemoveSSODomain removes a domain from the organization (Owner or Admin).
func (s *Service) RemoveSSODomain(ctx context.Context, id int64) error {
	return s.update(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		d, err := tx.FindSSODomain(ctx, a.orgID, id)
		if err != nil {
			return err
		}
		if _, err := tx.DeleteSSODomain(ctx, a.orgID, id); err != nil {
			return err
		}
		return tx.audit(ctx, a, muster.ActionSSODomainRemoved, muster.TargetSSODomain, d.ID, d.Domain, nil, nil)
	})
}

// DomainChecks counts what RecheckSSODomains did.
type DomainChecks struct {
	Checked    int
	Unverified int
	// Failed counts lookups that did not answer; those domains stay
	// verified and are looked up again at the next round.
	Failed int
}

// recheckBatch is how many domains one round claims.
const recheckBatch = 20

// RecheckSSODomains looks up again the TXT records of verified domains not
// checked for DomainRecheckEvery, claiming each so that instances sharing
// the database do not check it twice. A domain whose record is gone is no
// longer verified (audited); a lookup that fails leaves it as it is.
func (s *Service) RecheckSSODomains(ctx context.Context) (DomainChecks, error) {
	var out DomainChecks
	var claimed []*muster.SSODomain
	err := s.update(ctx, func(tx *txn) error {
		var err error
		claimed, err = tx.ClaimSSODomainChecks(ctx, tx.now.Add(-DomainRecheckEvery), tx.now, recheckBatch)
		return err
	})
	if err != nil {
		return out, err
	}
	for _, d := range claimed {
		out.Checked++
		lctx, cancel := context.WithTimeout(ctx, dnsTimeout)
		found, err := sso.LookupVerification(lctx, s.cfg.Resolver, d.Domain, d.TXTRecord())
		cancel()
		switch {
		case err != nil:
			out.Failed++
			continue
		case found:
			continue
		}
		unverified := false
		err = s.update(ctx, func(tx *txn) error {
			unverified = false
			cur, err := tx.FindSSODomain(ctx, d.OrgID, d.ID)
			if muster.ErrorCode(err) == muster.ENOTFOUND || (err == nil && !cur.Verified()) {
				return nil
			} else if err != nil {
				return err
			}
			cur.VerifiedAt = time.Time{}
			if err := tx.UpdateSSODomain(ctx, cur); err != nil {
				return err
			}
			unverified = true
			a := &actor{orgID: cur.OrgID, system: "Domain check", origin: "muster"}
			return tx.audit(ctx, a, muster.ActionSSODomainUnverified, muster.TargetSSODomain, cur.ID, cur.Domain, nil,
				map[string]any{"reason": "record_missing"})
		})
		if err != nil {
			return out, err
		}
		if unverified {
			out.Unverified++
		}
	}
	return out, nil
}
