//! A check's state, settled on the revision it was decided from, with its flip in the same
//! transaction: of two writers that decided the same flip, one writes it and the other reads
//! again and finds nothing left to do.

use super::{check_of, failed, n, s, HeartbeatTable, UUIDS};
use crate::base::error::Result;
use crate::heartbeat::check::{Check, FLIPS_KEPT};
use crate::heartbeat::notice::Notice;
use crate::heartbeat::ports::{CheckStates, Settled};
use crate::heartbeat::state::Step;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use std::collections::HashMap;

impl HeartbeatTable {
    fn state_update(&self, check: &Check, step: &Step) -> Result<TransactWriteItem> {
        let mut values = HashMap::from([
            (":s".to_string(), s(step.state.as_str())),
            (":rev".to_string(), n(check.rev)),
            (":one".to_string(), n(1)),
        ]);
        let mut expression = "SET #st = :s".to_string();
        let mut add = "ADD rev :one".to_string();
        if let Some(flip) = &step.flip {
            values.insert(":at".into(), n(flip.at));
            expression.push_str(", state_since = :at");
            add.push_str(", flips :one");
        }
        let condition = if check.rev == 0 {
            "attribute_exists(sk) AND (attribute_not_exists(rev) OR rev = :rev)"
        } else {
            "attribute_exists(sk) AND rev = :rev"
        };
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(self.key(&check.name)))
            .update_expression(format!("{expression} {add}"))
            .condition_expression(condition)
            .expression_attribute_names("#st", "state")
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| crate::base::error::Error::Internal(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

impl CheckStates for HeartbeatTable {
    async fn check(&self, name: &str) -> Result<Option<Check>> {
        Ok(self
            .get(self.key(name), "reading a check")
            .await?
            .as_ref()
            .map(check_of))
    }

    async fn settle(&self, check: &Check, step: &Step, notices: &[Notice]) -> Result<Settled> {
        let mut writes = vec![self.state_update(check, step)?];
        for notice in notices {
            writes.push(self.notice_put(notice, step.flip.as_ref().map_or(0, |f| f.at))?);
        }
        if let Some(flip) = &step.flip {
            let number = check.flips + 1;
            writes.push(self.log_item(
                &format!("flip#{}", check.name),
                number % FLIPS_KEPT,
                super::log::flip_item(number, flip),
            )?);
        }
        match super::super::transact(&self.client, writes, "settling a check's state").await? {
            Ok(()) => Ok(Settled::Written),
            Err(reasons) if reasons.iter().any(|r| r == "ConditionalCheckFailed") => {
                Ok(Settled::Stale)
            }
            Err(reasons) => Err(failed(
                "settling a check's state",
                format!("transaction cancelled: {reasons:?}"),
            )),
        }
    }

    async fn by_uuid(&self, uuid: &str) -> Result<Option<String>> {
        let item = self
            .get(self.key_in(UUIDS, uuid), "finding a check by UUID")
            .await?;
        Ok(item.and_then(|i| super::text(&i, "name")))
    }
}
