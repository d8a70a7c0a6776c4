// Package httperr answers the service's refusals in HTTP: one table from
// the domain's error codes to statuses, which the console, the API and SCIM
// share, each rendering the refusal in its own form.
package httperr

import (
	"math"
	"net/http"
	"strconv"

	"github.com/muster-app/muster/internal/muster"
)

// Status is the HTTP status that answers err: 200 for nil, and for a
// refusal the status of its code (500 for an error that is not a refusal).
func Status(err error) int {
	switch muster.ErrorCode(err) {
	case "":
		return http.StatusOK
	case muster.EINVALID:
		return http.StatusUnprocessableEntity
	case muster.ENOTFOUND:
		return http.StatusNotFound
	case muster.ECONFLICT, muster.ESEATS:
		return http.StatusConflict
	case muster.EFORBIDDEN:
		return http.StatusForbidden
	case muster.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case muster.EGONE:
		return http.StatusGone
	case muster.ETOOMANY:
		return http.StatusTooManyRequests
	case muster.ESTALE:
		return http.StatusPreconditionFailed
	}
	return http.StatusInternalServerError
}

// SetRetryAfter sets the Retry-After header of a refusal that says how long
// to wait (an ETOOMANY's RetryAfter), in whole seconds, rounded up.
func SetRetryAfter(h http.Header, err error) {
	if d := muster.ErrorRetryAfter(err); d > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
	}
}
