//! Statements prepared once per connection: the first use of a statement's text on a
//! connection prepares it (one round trip), every later use sends only its parameters
//! (one round trip instead of two). A connection made again (the server restarted)
//! starts with none and prepares again.

use std::collections::HashMap;

use postgres::{Client, Statement};

/// The statements prepared on one connection, by their text.
#[derive(Default)]
pub(super) struct Prepared {
    statements: HashMap<&'static str, Statement>,
}

impl Prepared {
    /// The statement `sql`, prepared on `client` when it is not yet: `client` must be the
    /// connection every earlier call gave.
    pub fn get(
        &mut self,
        client: &mut Client,
        sql: &'static str,
    ) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = client.prepare(sql)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }
}
