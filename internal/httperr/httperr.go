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

// AllowedMethods are the methods the routes of mux take at r's path, when
// r's method is not one of them: the Allow of a 405. catchAll is the
// pattern that answers every request no route takes (so the mux's own 405
// never comes), which is no route of the path. HEAD is one wherever GET is:
// the mux answers it with the GET route.
func AllowedMethods(mux *http.ServeMux, r *http.Request, catchAll string) []string {
	var allow []string
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := &http.Request{Method: method, URL: r.URL, Host: r.Host}
		if _, pattern := mux.Handler(probe); pattern != catchAll && pattern != "" {
			allow = append(allow, method)
		}
	}
	return allow
}
