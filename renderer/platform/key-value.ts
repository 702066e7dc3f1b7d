// Minimal asynchronous key-value storage: IndexedDB in the browser, a Map in tests.

export interface KeyValueStore<T> {
  get(key: string): Promise<T | undefined>;
  put(key: string, value: T): Promise<void>;
  delete(key: string): Promise<void>;
  values(): Promise<T[]>;
  clear(): Promise<void>;
}

export class MemoryKeyValueStore<T> implements KeyValueStore<T> {
  private readonly map = new Map<string, T>();

  async get(key: string): Promise<T | undefined> {
    return this.map.get(key);
  }

  async put(key: string, value: T): Promise<void> {
    this.map.set(key, value);
  }

  async delete(key: string): Promise<void> {
    this.map.delete(key);
  }

  async values(): Promise<T[]> {
    return [...this.map.values()];
  }

  async clear(): Promise<void> {
    this.map.clear();
  }
}

/** Opens (or creates) an IndexedDB database with one object store per name. */
export function openIndexedDb(databaseName: string, version: number, storeNames: readonly string[]): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(databaseName, version);
    request.onupgradeneeded = () => {
      for (const name of storeNames) {
        if (!request.result.objectStoreNames.contains(name)) request.result.createObjectStore(name);
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error(`Cannot open IndexedDB database ${databaseName}`));
    request.onblocked = () => reject(new Error(`IndexedDB database ${databaseName} is blocked by another tab of this app; close it and reload.`));
  });
}

/** A KeyValueStore over one object store of an IndexedDB database. */
export class IndexedDbStore<T> implements KeyValueStore<T> {
  constructor(
    private readonly database: Promise<IDBDatabase>,
    private readonly storeName: string,
  ) {}

  get(key: string): Promise<T | undefined> {
    return this.run('readonly', (store) => store.get(key)) as Promise<T | undefined>;
  }

  async put(key: string, value: T): Promise<void> {
    await this.run('readwrite', (store) => store.put(value, key));
  }

  async delete(key: string): Promise<void> {
    await this.run('readwrite', (store) => store.delete(key));
  }

  values(): Promise<T[]> {
    return this.run('readonly', (store) => store.getAll()) as Promise<T[]>;
  }

  async clear(): Promise<void> {
    await this.run('readwrite', (store) => store.clear());
  }

  /** Runs one request and resolves when its transaction has committed. */
  private async run(mode: IDBTransactionMode, makeRequest: (store: IDBObjectStore) => IDBRequest): Promise<unknown> {
    const database = await this.database;
    return new Promise((resolve, reject) => {
      const transaction = database.transaction(this.storeName, mode);
      const request = makeRequest(transaction.objectStore(this.storeName));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error ?? request.error);
      transaction.onabort = () => reject(transaction.error ?? new Error(`IndexedDB transaction on ${this.storeName} was aborted`));
    });
  }
}
