package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/webhook"
)

// WebhookSender delivers webhook events (EVT-1). It claims due deliveries
// from the database (service.LeaseWebhooks), so any number of senders on
// any instances share them without sending one attempt twice at once, and
// sends them with at most PerEndpoint requests in flight to each endpoint:
// a slow endpoint keeps its own requests waiting, never another's. What
// an answer means (a retry, a failed delivery, a disabled endpoint) the
// service decides when the outcomes are recorded.
type WebhookSender struct {
	Service *service.Service
	Log     *slog.Logger
	// Poll is how often the sender looks for due deliveries (retries come
	// due with time) when nobody wakes it.
	Poll time.Duration
	// PerEndpoint bounds the requests in flight to one endpoint; the
	// sender holds at most heldPerSlot times as many of its deliveries,
	// so that a claim takes several rounds' worth at once.
	PerEndpoint int

	once  sync.Once
	wake  wakeup
	work  sync.WaitGroup
	mu    sync.Mutex
	held  map[int64]int           // claimed and not yet recorded, per endpoint
	slots map[int64]chan struct{} // the requests in flight, per endpoint
	// live is when a delivery of each endpoint was last found still
	// claimed after waiting its turn: the endpoint was neither deleted nor
	// disabled then, which fails all its pending deliveries.
	live map[int64]time.Time
	// batch holds outcomes waiting to be recorded by flushing's goroutine.
	batch    []*service.WebhookOutcome
	flushing bool
	full     chan struct{}
}

// Outcomes are recorded together, each write transaction costing a commit,
// but at most recordWithin after an attempt and recordBatch at a time.
const (
	webhookRecordWithin = 10 * time.Millisecond
	webhookRecordBatch  = 64
	// heldPerSlot is how many deliveries of an endpoint the sender holds
	// per request it may have in flight. Those waiting for a slot wait at
	// most heldPerSlot attempts of the endpoint (a minute at the timeout),
	// well within their claim.
	heldPerSlot = 4
)

func (s *WebhookSender) init() {
	s.once.Do(func() {
		if s.Poll == 0 {
			s.Poll = time.Second
		}
		if s.PerEndpoint == 0 {
			s.PerEndpoint = 8
		}
		if s.Log == nil {
			s.Log = slog.Default()
		}
		s.held = map[int64]int{}
		s.slots = map[int64]chan struct{}{}
		s.live = map[int64]time.Time{}
		s.full = make(chan struct{}, 1)
	})
}

// Wake asks the sender to look for due deliveries now.
func (s *WebhookSender) Wake() { s.wake.wake() }

// Run delivers until ctx ends, then waits for the attempts under way.
func (s *WebhookSender) Run(ctx context.Context) {
	s.init()
	defer s.work.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wake.c():
		}
		if _, err := s.dispatch(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error("webhooks: claiming deliveries failed", "err", err)
		}
		timer.Reset(s.Poll)
	}
}

// DeliverDue claims the deliveries due now, sends them and records what
// they got, and returns how many it claimed: one round of Run, waited for.
func (s *WebhookSender) DeliverDue(ctx context.Context) (int, error) {
	s.init()
	n, err := s.dispatch(ctx)
	s.work.Wait()
	return n, err
}

// free is how many more deliveries of an endpoint the sender may claim.
func (s *WebhookSender) free(endpointID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return heldPerSlot*s.PerEndpoint - s.held[endpointID]
}

// dispatch claims due deliveries and starts sending them.
func (s *WebhookSender) dispatch(ctx context.Context) (int, error) {
	ds, err := s.Service.LeaseWebhooks(ctx, s.free)
	for _, d := range ds {
		endpoint := d.Delivery.EndpointID
		s.mu.Lock()
		s.held[endpoint]++
		slot, ok := s.slots[endpoint]
		if !ok {
			slot = make(chan struct{}, s.PerEndpoint)
			s.slots[endpoint] = slot
		}
		s.mu.Unlock()
		claimed := time.Now()
		s.work.Go(func() {
			waited := false
			select {
			case slot <- struct{}{}:
			default:
				waited = true
				select {
				case slot <- struct{}{}:
				case <-ctx.Done():
					s.giveBack(ctx, d) // never sent: no attempt is counted
					s.release(endpoint)
					return
				}
			}
			// While it waited for its turn, the endpoint may have been
			// disabled or deleted, which failed its pending deliveries.
			if waited && !s.stillClaimed(ctx, d) {
				<-slot
				s.release(endpoint)
				return
			}
			var out *service.WebhookOutcome
			// A delivery that waited for its turn until its claim is about
			// to run out is left to whoever claims it next: sent now, it
			// could be sent twice at once.
			if time.Since(claimed) < service.WebhookLease-webhook.Timeout-10*time.Second {
				// An attempt under way is finished (within webhook.Timeout)
				// even if ctx ends: cut off, the shutdown would be recorded
				// as the endpoint's failure.
				out = s.Service.AttemptWebhook(context.WithoutCancel(ctx), d)
			}
			<-slot
			if out == nil {
				s.giveBack(ctx, d)
				s.release(endpoint)
				return
			}
			s.record(ctx, out)
		})
	}
	return len(ds), err
}

// stillClaimed says whether d is still pending under the sender's claim;
// if that cannot be read, it is sent. A delivery of an endpoint found live
// less than liveFor ago is taken to be: the deliveries of a busy endpoint,
// which all wait their turn, cost a read a second, not one each.
func (s *WebhookSender) stillClaimed(ctx context.Context, d *service.WebhookDispatch) bool {
	endpoint := d.Delivery.EndpointID
	s.mu.Lock()
	recent := time.Since(s.live[endpoint]) < liveFor
	s.mu.Unlock()
	if recent {
		return true
	}
	ok, err := s.Service.WebhookClaimed(context.WithoutCancel(ctx), d)
	if ok {
		s.mu.Lock()
		s.live[endpoint] = time.Now()
		s.mu.Unlock()
	}
	return ok || err != nil
}

// liveFor is how long an endpoint found live is taken to be: an endpoint
// deleted or disabled gets nothing its sender held once this has passed.
const liveFor = time.Second

// giveBack gives back the claim of a delivery the sender did not send, so
// that it is due again at once (a server started again sends it, rather
// than two minutes later) with no attempt counted.
func (s *WebhookSender) giveBack(ctx context.Context, d *service.WebhookDispatch) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.Service.ReleaseWebhook(ctx, d); err != nil {
		s.Log.Warn("webhooks: giving back an unsent delivery failed; its claim runs out and it is sent then",
			"delivery_id", d.Delivery.ID, "err", err)
	}
}

// release forgets a delivery the sender no longer holds, and looks for
// more.
func (s *WebhookSender) release(endpointID int64) {
	s.mu.Lock()
	s.held[endpointID]--
	s.mu.Unlock()
	s.wake.wake()
}

// record queues an outcome to be written with others; the first of a
// batch writes it.
func (s *WebhookSender) record(ctx context.Context, out *service.WebhookOutcome) {
	s.mu.Lock()
	s.batch = append(s.batch, out)
	if s.flushing {
		if len(s.batch) >= webhookRecordBatch {
			select {
			case s.full <- struct{}{}:
			default:
			}
		}
		s.mu.Unlock()
		return
	}
	s.flushing = true
	s.mu.Unlock()

	timer := time.NewTimer(webhookRecordWithin)
	select {
	case <-timer.C:
	case <-s.full:
		timer.Stop()
	}
	s.mu.Lock()
	batch := s.batch
	s.batch, s.flushing = nil, false
	s.mu.Unlock()
	// Recorded even if ctx is ending, so that a delivered event is not
	// sent again.
	recordCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.Service.RecordWebhookOutcomes(recordCtx, batch); err != nil {
		s.Log.Error("webhooks: recording attempts failed; their claims run out and they are sent again",
			"attempts", len(batch), "err", err)
	}
	for _, o := range batch {
		if !o.Attempt.Succeeded() {
			s.Log.Warn("webhooks: attempt failed", "endpoint_id", o.Attempt.EndpointID, "webhook_id",
				o.Dispatch.Message.ID, "status", o.Attempt.StatusCode, "err", o.Attempt.Error)
		}
		s.release(o.Dispatch.Delivery.EndpointID)
	}
}
