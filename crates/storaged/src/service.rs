//! The D-Bus interface `org.shoebox.Storage1` at `/org/shoebox/Storage1`.
//! The bus policy lets only root and the `shoebox` user call it; every call
//! is still logged with the caller's user id.

use zbus::fdo::{DBusProxy, Error as FdoError};
use zbus::message::Header;
use zbus::{Connection, interface};

use crate::disks::{self, Disk};

pub const BUS_NAME: &str = "org.shoebox.Storage1";
pub const OBJECT_PATH: &str = "/org/shoebox/Storage1";

pub struct Storage;

/// The caller's Unix user, asked of the bus itself (not taken from the message).
async fn caller_uid(connection: &Connection, header: &Header<'_>) -> zbus::fdo::Result<u32> {
    let sender = header
        .sender()
        .ok_or_else(|| FdoError::AccessDenied("a call without a sender".into()))?;
    DBusProxy::new(connection)
        .await?
        .get_connection_unix_user(sender.clone().into())
        .await
}

#[interface(name = "org.shoebox.Storage1")]
impl Storage {
    /// The interface's revision; methods are only ever added within one.
    #[zbus(property)]
    fn version(&self) -> u32 {
        1
    }

    /// Every whole disk, with whether it is blank and whether the system runs from it.
    async fn list_disks(
        &self,
        #[zbus(connection)] connection: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> zbus::fdo::Result<Vec<Disk>> {
        let uid = caller_uid(connection, &header).await?;
        tracing::info!(uid, method = "ListDisks", "call");
        tokio::task::spawn_blocking(disks::list)
            .await
            .map_err(|e| FdoError::Failed(e.to_string()))?
            .map_err(|e| FdoError::Failed(e.to_string()))
    }
}
