package main

import (
	"encoding/json"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/payrail/payments/gateway/stripe"
)

// The events below are shaped like Stripe's (API version 2023-10-16), cut to
// the fields the driver reads.

type signedEvent struct {
	body      []byte
	signature string // the Stripe-Signature header
}

// sign signs body with the endpoint's secret at the current time, as Stripe
// does on every delivery attempt.
func sign(body []byte) signedEvent {
	p := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: webhookSecret, Timestamp: time.Now()})
	return signedEvent{body: body, signature: p.Header}
}

func event(id, typ string, object, previous map[string]any) []byte {
	data := map[string]any{"object": object}
	if previous != nil {
		data["previous_attributes"] = previous
	}
	b, err := json.MarshalIndent(map[string]any{
		"id": id, "object": "event", "api_version": stripe.APIVersion, "created": time.Now().Unix(),
		"livemode": false, "pending_webhooks": 1, "type": typ, "data": data,
		"request": map[string]any{"id": nil, "idempotency_key": nil},
	}, "", " ")
	if err != nil {
		panic(err) // only strings, numbers and maps
	}
	return b
}

// paymentSucceeded is a payment_intent.succeeded event. The account and the
// reference travel in the PaymentIntent's metadata, as the driver's
// CreateCheckout sets them.
func paymentSucceeded(eventID, intentID string, cents int64) []byte {
	return paymentIntentSucceeded(eventID, intentID, cents, map[string]any{
		stripe.MetadataAccount:   "user-42",
		stripe.MetadataReference: "order:672626:k3j2h1",
	})
}

// paymentLinkSucceeded is a payment_intent.succeeded event for a payment
// taken by a Payment Link the host made in the Dashboard: its metadata names
// no account, so the ledger cannot tell whose money it is and parks it.
func paymentLinkSucceeded(eventID, intentID string, cents int64) []byte {
	return paymentIntentSucceeded(eventID, intentID, cents, map[string]any{})
}

func paymentIntentSucceeded(eventID, intentID string, cents int64, metadata map[string]any) []byte {
	return event(eventID, "payment_intent.succeeded", map[string]any{
		"id": intentID, "object": "payment_intent", "amount": cents, "amount_received": cents,
		"amount_capturable": 0, "capture_method": "automatic", "currency": "usd", "status": "succeeded",
		"client_secret": intentID + "_secret_quickstart", "latest_charge": "ch_" + intentID[3:],
		"metadata": metadata,
	}, nil)
}

// refundSucceeded is a refund.updated event for a refund that went from
// pending to succeeded. It carries no account: the ledger takes it from the
// payment.
func refundSucceeded(eventID, refundID, intentID string, cents int64) []byte {
	return event(eventID, "refund.updated", map[string]any{
		"id": refundID, "object": "refund", "amount": cents, "currency": "usd", "status": "succeeded",
		"payment_intent": intentID, "charge": "ch_" + intentID[3:], "reason": "requested_by_customer",
		"metadata": map[string]any{},
	}, map[string]any{"status": "pending"})
}
