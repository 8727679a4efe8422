package cryptomus

import (
	"context"
	"fmt"

	"github.com/payrail/payments"
)

// MetadataRefundAddress is the payment metadata key under which Refund
// looks for the refund wallet address when the call carries no
// RefundExtension. A host that asks the customer for the address at
// checkout sets it in payments.CheckoutRequest.Metadata.
const MetadataRefundAddress = "cryptomus_refund_address"

// RefundExtension is what a refund through Cryptomus takes beyond the
// portable options: pass it as payments.RefundOptions.Extension (a value
// or a pointer).
type RefundExtension struct {
	// Address is the wallet the refund is sent to (see
	// RefundRequest.Address). Empty falls back to the payment's metadata,
	// then Config.RefundAddress.
	Address string
}

// RefundRequest asks Cryptomus to refund a paid invoice
// (https://doc.cryptomus.com/business/payments/refund).
type RefundRequest struct {
	Invoice InvoiceRef
	// Address is the wallet the refund is sent to, in the invoice's payer
	// currency and network. Cryptomus sends crypto there irrevocably: take
	// it from the customer, not from the invoice's "from" address, which
	// may belong to an exchange.
	Address string
	// CommissionFromBalance is is_subtract: true takes the commission from
	// the merchant balance, false from the refunded amount.
	CommissionFromBalance bool
}

type refundWire struct {
	Address    string `json:"address"`
	IsSubtract bool   `json:"is_subtract"`
	InvoiceRef
}

// RefundInvoice asks Cryptomus to refund an invoice in full, signed with
// the key Config.RefundKey selects. Cryptomus answers before the money
// moves: the refund is recorded when its refund_paid webhook arrives.
// Cryptomus takes no idempotency key; what it does with a second refund
// request for the same invoice is not documented.
func (g *Gateway) RefundInvoice(ctx context.Context, req RefundRequest) error {
	op := "refund " + req.Invoice.String()
	if err := req.Invoice.check(op); err != nil {
		return err
	}
	if req.Address == "" {
		return fmt.Errorf("cryptomus: %s: a refund address is required: %w", op, payments.ErrInvalidInput)
	}
	body := refundWire{Address: req.Address, IsSubtract: req.CommissionFromBalance, InvoiceRef: req.Invoice}
	return g.call(ctx, op, "/v1/payment/refund", g.cfg.RefundKey, body, nil)
}

// Refund implements payments.Refunder. Cryptomus refunds whole invoices
// only, so a partial amount is payments.ErrNotSupported. The wallet address
// is, in this order, the RefundExtension's Address, the payment's metadata
// under MetadataRefundAddress, or what Config.RefundAddress answers: the
// most specific wins, so a customer who gave a new address for this refund
// is not paid to an old one. Without an address the refund is
// payments.ErrInvalidInput; so is an extension of another type. Both are
// refused before Cryptomus is called.
//
// Cryptomus takes no idempotency key, so opts.Key is not sent: a retried
// Refund asks Cryptomus again, and what it does with a second request for
// an invoice is not documented. The refund is asynchronous: Refund records
// nothing, and the refund_paid webhook later records one refund entry
// keyed by the invoice, however often it was asked for, and moves the
// payment to refunded.
func (g *Gateway) Refund(ctx context.Context, p payments.Payment, opts payments.RefundOptions) (*payments.Changes, error) {
	ext, err := refundExtension(p.ID, opts.Extension)
	if err != nil {
		return nil, err
	}
	if opts.Amount != nil && *opts.Amount != p.Amount {
		return nil, fmt.Errorf("cryptomus: refund %s of %s: only whole invoices can be refunded: %w",
			opts.Amount, p.Amount, payments.ErrNotSupported)
	}
	address := ext.Address
	if address == "" {
		address = p.Metadata[MetadataRefundAddress]
	}
	if address == "" && g.cfg.RefundAddress != nil {
		if address, err = g.cfg.RefundAddress(ctx, p); err != nil {
			return nil, fmt.Errorf("cryptomus: refund address for payment %s: %w", p.ID, err)
		}
	}
	if address == "" {
		return nil, fmt.Errorf("cryptomus: refund payment %s: no refund address (pass a RefundExtension, set metadata %q or Config.RefundAddress): %w",
			p.ID, MetadataRefundAddress, payments.ErrInvalidInput)
	}
	err = g.RefundInvoice(ctx, RefundRequest{
		Invoice:               InvoiceRef{UUID: p.GatewayID},
		Address:               address,
		CommissionFromBalance: g.cfg.RefundCommissionFromBalance,
	})
	if err != nil {
		return nil, err
	}
	return &payments.Changes{
		EventType: "refund_requested",
		Note:      "refund requested; it is recorded when Cryptomus reports refund_paid",
	}, nil
}

// refundExtension reads opts.Extension. Another driver's extension is
// refused rather than ignored: it says the caller meant another gateway.
func refundExtension(paymentID string, ext any) (RefundExtension, error) {
	switch x := ext.(type) {
	case nil:
		return RefundExtension{}, nil
	case RefundExtension:
		return x, nil
	case *RefundExtension:
		if x != nil {
			return *x, nil
		}
		return RefundExtension{}, nil
	}
	return RefundExtension{}, fmt.Errorf("cryptomus: refund payment %s: extension of type %T is not a cryptomus.RefundExtension: %w",
		paymentID, ext, payments.ErrInvalidInput)
}
