/**
 * Typed addresses. An actor's path is a string, but the actors that send to it know what it takes:
 * `ActorPath<M>` is that path carrying the type of its messages, so `system.lookup(path)` gives an
 * `ActorRef<M>` without a cast at the use site. A path is typed once, where it is decided (an
 * application's tree of paths); at run time it is the plain string.
 *
 * Look up at use rather than keep a ref: a child its supervisor stopped and started again (a
 * group restart, a terminate and restart) is a new cell, and a ref taken before points at the
 * stopped one.
 */
declare const messageType: unique symbol;

export type ActorPath<M> = string & { readonly [messageType]: (message: M) => void };

/** Declares that the actor at `path` takes messages of type M (`unknown` for a path read back from storage). */
export function actorPath<M>(path: string): ActorPath<M> {
  return path as ActorPath<M>;
}
