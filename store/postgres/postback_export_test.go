package postgres

// SettleDeliveriesSQL is the settlement statement, for the plan test; it
// lives here rather than in export_test.go with the others so that it
// stays with the postback code it exports.
func (s *Store) SettleDeliveriesSQL() string { return s.sql(settleDeliveriesQuery) }
