package cryptomus

import (
	"context"
	"fmt"

	"github.com/payrail/payments"
)

// MetadataRefundAddress is the key under which Refund looks for the refund
// wallet address: in payments.RefundOptions.Params, then in the payment's
// metadata, before it asks Config.RefundAddress.
const MetadataRefundAddress = "cryptomus_refund_address"

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
// only, so a partial amount is ErrNotSupported. The address comes from
// RefundOptions.Params[MetadataRefundAddress], else the payment's metadata
// under the same key, else Config.RefundAddress; without
// one the refund is ErrInvalidInput. The refund is asynchronous: Refund
// records nothing, and the refund_paid webhook later records a refund entry
// and moves the payment to refunded.
func (g *Gateway) Refund(ctx context.Context, req payments.OperationRequest) (*payments.Changes, error) {
	p := req.Payment
	if req.Amount != nil && *req.Amount != p.Amount {
		return nil, fmt.Errorf("cryptomus: refund %s of %s: only whole invoices can be refunded: %w",
			req.Amount, p.Amount, payments.ErrNotSupported)
	}
	address := req.Params[MetadataRefundAddress]
	if address == "" {
		address = p.Metadata[MetadataRefundAddress]
	}
	if address == "" && g.cfg.RefundAddress != nil {
		var err error
		if address, err = g.cfg.RefundAddress(ctx, p); err != nil {
			return nil, fmt.Errorf("cryptomus: refund address for payment %s: %w", p.ID, err)
		}
	}
	if address == "" {
		return nil, fmt.Errorf("cryptomus: refund payment %s: no refund address (set metadata %q or Config.RefundAddress): %w",
			p.ID, MetadataRefundAddress, payments.ErrInvalidInput)
	}
	err := g.RefundInvoice(ctx, RefundRequest{
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
