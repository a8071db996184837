"""The transfer engine: the only code that moves ownership in bulk.

services     the entry points: records_transfer_all, records_transfer_per_client,
             records_transfer_distributed, transfer_revert (each builds a plan)
plans        TransferPlan and RevertPlan: what to lock, check and run
executor     plan_execute: one durable transaction per plan
checks       the rules, checked under the locks (TransferRefused with a code)
moves        set-based moves of records and shares, with their receipt rows
revert       set-based moves of a revert
receipts     the receipt's totals, (de)activation of the old user, e-mails after commit
holdings     what a user holds and the clients they are linked to
distribution Distribute's proposal
progress     the hook the engine reports its phases and counts to
result, sql, faults
"""
